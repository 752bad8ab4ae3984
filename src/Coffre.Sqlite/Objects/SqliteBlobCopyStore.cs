using Coffre.Objects;
using Coffre.Storage.Placement;
using Microsoft.Data.Sqlite;

namespace Coffre.Sqlite.Objects;

/// <summary>Which backends hold each blob, in table <c>blob_copies</c> of the catalog file (created if missing).</summary>
public sealed class SqliteBlobCopyStore : IBlobCopyStore
{
    /// <summary>Blobs asked about per statement (SQLite's default limit on parameters is far above it).</summary>
    private const int ChunkSize = 500;

    private readonly string _connectionString;

    private SqliteBlobCopyStore(string connectionString) => _connectionString = connectionString;

    /// <summary>Opens the table in the catalog file at <paramref name="databasePath"/>, creating both if needed.</summary>
    public static SqliteBlobCopyStore Open(string databasePath) =>
        // share: null for a whole copy, else the share number of an erasure-coded blob.
        new(SqliteCatalogFile.Open(databasePath, """
            CREATE TABLE IF NOT EXISTS blob_copies(blob TEXT NOT NULL, backend TEXT NOT NULL, share INTEGER,
                PRIMARY KEY (blob, backend)) WITHOUT ROWID;
            """));

    public async Task ApplyAsync(IReadOnlyList<BlobCopyChange> changes, CancellationToken ct = default)
    {
        if (changes.Count == 0) return;
        try
        {
            await using var c = new SqliteConnection(_connectionString);
            await c.OpenAsync(ct).ConfigureAwait(false);
            await using var tx = (SqliteTransaction)await c.BeginTransactionAsync(ct).ConfigureAwait(false);
            await using var upsert = Command(c, tx, "INSERT INTO blob_copies(blob, backend, share) VALUES ($blob, $backend, $share) " +
                "ON CONFLICT(blob, backend) DO UPDATE SET share = excluded.share", "$blob", "$backend", "$share");
            await using var remove = Command(c, tx, "DELETE FROM blob_copies WHERE blob = $blob AND backend = $backend", "$blob", "$backend");
            await using var forget = Command(c, tx, "DELETE FROM blob_copies WHERE blob = $blob", "$blob");
            foreach (var change in changes)
            {
                var cmd = change.Held ? upsert : change.Backend is null ? forget : remove;
                cmd.Parameters[0].Value = change.Blob;
                if (change.Backend is not null) cmd.Parameters[1].Value = change.Backend;
                if (change.Held) cmd.Parameters[2].Value = (object?)change.Share ?? DBNull.Value;
                await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            await tx.CommitAsync(ct).ConfigureAwait(false);
        }
        catch (SqliteException e)
        {
            throw Unavailable(e);
        }
    }

    private static SqliteCommand Command(SqliteConnection c, SqliteTransaction tx, string sql, params string[] parameters)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var p in parameters) cmd.Parameters.Add(new SqliteParameter(p, null));
        cmd.Prepare();
        return cmd;
    }

    public async Task<IReadOnlyList<BlobCopy>> OfAsync(IReadOnlyCollection<string> blobs, CancellationToken ct = default)
    {
        var copies = new List<BlobCopy>();
        try
        {
            await using var c = new SqliteConnection(_connectionString);
            await c.OpenAsync(ct).ConfigureAwait(false);
            foreach (var chunk in blobs.Distinct(StringComparer.Ordinal).Chunk(ChunkSize))
            {
                await using var cmd = c.CreateCommand();
                cmd.CommandText = "SELECT blob, backend, share FROM blob_copies WHERE blob IN (" +
                    string.Join(", ", chunk.Select((_, i) => "$b" + i)) + ")";
                for (var i = 0; i < chunk.Length; i++) cmd.Parameters.AddWithValue("$b" + i, chunk[i]);
                await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                    copies.Add(new BlobCopy(reader.GetString(0), reader.GetString(1), await reader.IsDBNullAsync(2, ct).ConfigureAwait(false) ? null : reader.GetInt32(2)));
            }
        }
        catch (SqliteException e)
        {
            throw Unavailable(e);
        }
        return BlobCopies.Ordered(copies);
    }

    private static ObjectStoreException Unavailable(SqliteException e) =>
        new(ObjectError.CatalogUnavailable, $"The blob_copies table of the catalog could not be read or written: {e.Message}", e);
}
