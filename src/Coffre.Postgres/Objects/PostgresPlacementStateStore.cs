using Coffre.Objects;
using Coffre.Storage.Placement;
using Npgsql;

namespace Coffre.Postgres.Objects;

/// <summary>Bucket placement states in <c>catalog.placement</c> (migration 0004), shared by every instance on the database.</summary>
public sealed class PostgresPlacementStateStore : IPlacementStateStore, IAsyncDisposable
{
    private readonly NpgsqlDataSource _db;

    private PostgresPlacementStateStore(NpgsqlDataSource db) => _db = db;

    /// <summary>Connects and brings the catalog's schema up to date (the same migrations as <see cref="PostgresObjectCatalog"/>).</summary>
    public static async Task<PostgresPlacementStateStore> OpenAsync(string connectionString, CancellationToken ct = default)
    {
        return new PostgresPlacementStateStore(await CatalogMigrations.OpenAsync(connectionString, Unavailable, ct).ConfigureAwait(false));
    }

    public ValueTask DisposeAsync() => _db.DisposeAsync();

    public async Task<IReadOnlyList<BucketPlacementState>> ListAsync(CancellationToken ct = default) =>
        await ReadAsync("SELECT bucket, backends, migration FROM catalog.placement ORDER BY bucket", null, ct).ConfigureAwait(false);

    public async Task<BucketPlacementState?> GetAsync(string bucket, CancellationToken ct = default) =>
        (await ReadAsync("SELECT bucket, backends, migration FROM catalog.placement WHERE bucket = $1", bucket, ct).ConfigureAwait(false)).FirstOrDefault();

    public async Task SaveAsync(BucketPlacementState state, CancellationToken ct = default)
    {
        try
        {
            await using var cmd = state.Backends is null && state.Migration is null
                ? _db.CreateCommand("DELETE FROM catalog.placement WHERE bucket = $1")
                : _db.CreateCommand("INSERT INTO catalog.placement(bucket, backends, migration) VALUES ($1, $2, $3) " +
                    "ON CONFLICT (bucket) DO UPDATE SET backends = excluded.backends, migration = excluded.migration");
            cmd.Parameters.Add(new NpgsqlParameter { Value = state.Bucket });
            if (state.Backends is not null || state.Migration is not null)
            {
                cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)MigrationStates.EncodeBackends(state.Backends) ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
                cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)MigrationStates.EncodeMigration(state.Migration) ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            }
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw Unavailable(e);
        }
    }

    private async Task<List<BucketPlacementState>> ReadAsync(string sql, string? bucket, CancellationToken ct)
    {
        try
        {
            await using var cmd = _db.CreateCommand(sql);
            if (bucket is not null) cmd.Parameters.Add(new NpgsqlParameter { Value = bucket });
            await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            var states = new List<BucketPlacementState>();
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
                states.Add(MigrationStates.Decode(reader.GetString(0), reader.GetValue(1) as string, reader.GetValue(2) as string));
            return states;
        }
        catch (NpgsqlException e)
        {
            throw Unavailable(e);
        }
    }

    private static ObjectStoreException Unavailable(NpgsqlException e) =>
        new(ObjectError.CatalogUnavailable, $"The placement table of the catalog's database (PostgreSQL) could not be read or written: {e.Message}", e);
}
