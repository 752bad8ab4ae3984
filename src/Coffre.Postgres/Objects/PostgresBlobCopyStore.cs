using Coffre.Objects;
using Coffre.Storage.Placement;
using Npgsql;

namespace Coffre.Postgres.Objects;

/// <summary>Which backends hold each blob, in <c>catalog.blob_copies</c> (migration 0007), shared by every instance.</summary>
public sealed class PostgresBlobCopyStore : IBlobCopyStore, IAsyncDisposable
{
    private readonly NpgsqlDataSource _db;

    private PostgresBlobCopyStore(NpgsqlDataSource db) => _db = db;

    /// <summary>Connects and brings the catalog's schema up to date (the same migrations as <see cref="PostgresObjectCatalog"/>).</summary>
    public static async Task<PostgresBlobCopyStore> OpenAsync(string connectionString, CancellationToken ct = default)
    {
        return new PostgresBlobCopyStore(await CatalogMigrations.OpenAsync(connectionString, Unavailable, ct).ConfigureAwait(false));
    }

    public ValueTask DisposeAsync() => _db.DisposeAsync();

    public async Task ApplyAsync(IReadOnlyList<BlobCopyChange> changes, CancellationToken ct = default)
    {
        if (changes.Count == 0) return;
        try
        {
            await using var c = await _db.OpenConnectionAsync(ct).ConfigureAwait(false);
            await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
            // One round trip for the whole batch, the changes in order.
            await using var batch = new NpgsqlBatch(c, tx);
            foreach (var change in changes)
            {
                var cmd = new NpgsqlBatchCommand(change.Held
                    ? "INSERT INTO catalog.blob_copies(blob, backend, share) VALUES ($1, $2, $3) ON CONFLICT (blob, backend) DO UPDATE SET share = excluded.share"
                    : change.Backend is null ? "DELETE FROM catalog.blob_copies WHERE blob = $1"
                    : "DELETE FROM catalog.blob_copies WHERE blob = $1 AND backend = $2");
                cmd.Parameters.Add(new NpgsqlParameter { Value = change.Blob });
                if (change.Backend is not null) cmd.Parameters.Add(new NpgsqlParameter { Value = change.Backend });
                if (change.Held) cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)change.Share ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
                batch.BatchCommands.Add(cmd);
            }
            await batch.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            await tx.CommitAsync(ct).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw Unavailable(e);
        }
    }

    public async Task<IReadOnlyList<BlobCopy>> OfAsync(IReadOnlyCollection<string> blobs, CancellationToken ct = default)
    {
        var copies = new List<BlobCopy>();
        if (blobs.Count == 0) return copies;
        try
        {
            await using var cmd = _db.CreateCommand("SELECT blob, backend, share FROM catalog.blob_copies WHERE blob = ANY($1)");
            cmd.Parameters.Add(new NpgsqlParameter { Value = blobs.Distinct(StringComparer.Ordinal).ToArray() });
            await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
                copies.Add(new BlobCopy(reader.GetString(0), reader.GetString(1), await reader.IsDBNullAsync(2, ct).ConfigureAwait(false) ? null : reader.GetInt32(2)));
        }
        catch (NpgsqlException e)
        {
            throw Unavailable(e);
        }
        return BlobCopies.Ordered(copies);
    }

    private static ObjectStoreException Unavailable(NpgsqlException e) =>
        new(ObjectError.CatalogUnavailable, $"The blob_copies table of the catalog's database (PostgreSQL) could not be read or written: {e.Message}", e);
}
