using Coffre.Objects;
using Coffre.Storage.Placement;
using Microsoft.Data.Sqlite;

namespace Coffre.Sqlite.Objects;

/// <summary>Bucket placement states in a table of the catalog file (created if missing), read by every process on the data directory.</summary>
public sealed class SqlitePlacementStateStore : IPlacementStateStore
{
    private readonly string _connectionString;

    private SqlitePlacementStateStore(string connectionString) => _connectionString = connectionString;

    /// <summary>Opens the table in the catalog file at <paramref name="databasePath"/>, creating both if needed.</summary>
    public static SqlitePlacementStateStore Open(string databasePath) =>
        new(SqliteCatalogFile.Open(databasePath, "CREATE TABLE IF NOT EXISTS placement(bucket TEXT PRIMARY KEY, backends TEXT, migration TEXT) WITHOUT ROWID;"));

    public async Task<IReadOnlyList<BucketPlacementState>> ListAsync(CancellationToken ct = default) =>
        await ReadAsync("SELECT bucket, backends, migration FROM placement ORDER BY bucket", null, ct).ConfigureAwait(false);

    public async Task<BucketPlacementState?> GetAsync(string bucket, CancellationToken ct = default) =>
        (await ReadAsync("SELECT bucket, backends, migration FROM placement WHERE bucket = $bucket", bucket, ct).ConfigureAwait(false)).FirstOrDefault();

    public async Task SaveAsync(BucketPlacementState state, CancellationToken ct = default)
    {
        try
        {
            await using var c = new SqliteConnection(_connectionString);
            await c.OpenAsync(ct).ConfigureAwait(false);
            await using var cmd = c.CreateCommand();
            cmd.CommandText = state.Backends is null && state.Migration is null
                ? "DELETE FROM placement WHERE bucket = $bucket"
                : "INSERT INTO placement(bucket, backends, migration) VALUES ($bucket, $backends, $migration) " +
                  "ON CONFLICT(bucket) DO UPDATE SET backends = excluded.backends, migration = excluded.migration";
            cmd.Parameters.AddWithValue("$bucket", state.Bucket);
            cmd.Parameters.AddWithValue("$backends", (object?)MigrationStates.EncodeBackends(state.Backends) ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$migration", (object?)MigrationStates.EncodeMigration(state.Migration) ?? DBNull.Value);
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        catch (SqliteException e)
        {
            throw Unavailable(e);
        }
    }

    private async Task<List<BucketPlacementState>> ReadAsync(string sql, string? bucket, CancellationToken ct)
    {
        try
        {
            await using var c = new SqliteConnection(_connectionString);
            await c.OpenAsync(ct).ConfigureAwait(false);
            await using var cmd = c.CreateCommand();
            cmd.CommandText = sql;
            if (bucket is not null) cmd.Parameters.AddWithValue("$bucket", bucket);
            await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            var states = new List<BucketPlacementState>();
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
                states.Add(MigrationStates.Decode(reader.GetString(0), reader.GetValue(1) as string, reader.GetValue(2) as string));
            return states;
        }
        catch (SqliteException e)
        {
            throw Unavailable(e);
        }
    }

    private static ObjectStoreException Unavailable(SqliteException e) =>
        new(ObjectError.CatalogUnavailable, $"The placement table of the catalog could not be read or written: {e.Message}", e);
}
