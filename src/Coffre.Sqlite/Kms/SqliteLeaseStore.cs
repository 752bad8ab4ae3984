using Coffre.Kms.Store;
using Microsoft.Data.Sqlite;

namespace Coffre.Sqlite.Kms;

/// <summary>
/// Leases in the <c>leases</c> table of keys.db: several processes sharing the file (a server and a CLI, or two
/// servers by mistake) still run each background job once. Taking or renewing is one upsert, atomic under SQLite's
/// write lock; times are milliseconds since 1970 on SQLite's clock (the host's, shared by every process on it).
/// </summary>
internal sealed class SqliteLeaseStore(SqliteConnections connections) : ILeaseStore
{
    private const string Now = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";

    public Task<Lease?> TryAcquireAsync(string name, string holder, TimeSpan duration, CancellationToken ct = default) =>
        Task.FromResult(connections.Run(c =>
        {
            using var cmd = SqliteSql.Command(c, null, $"""
                INSERT INTO leases (name, holder, token, expires) VALUES ($n, $h, 1, {Now} + $d)
                ON CONFLICT (name) DO UPDATE SET
                    token = CASE WHEN leases.holder = excluded.holder THEN leases.token ELSE leases.token + 1 END,
                    holder = excluded.holder, expires = excluded.expires
                WHERE leases.holder = excluded.holder OR leases.expires <= {Now}
                RETURNING token, expires
                """);
            cmd.Parameters.AddWithValue("$n", name);
            cmd.Parameters.AddWithValue("$h", holder);
            cmd.Parameters.AddWithValue("$d", (long)duration.TotalMilliseconds);
            using var reader = cmd.ExecuteReader();
            return reader.Read() ? new Lease(name, holder, reader.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1))) : null;
        }));

    public Task<bool> IsHeldAsync(Lease lease, CancellationToken ct = default) =>
        Task.FromResult(connections.Run(c =>
        {
            using var cmd = Command(c, $"SELECT count(*) FROM leases WHERE name = $n AND holder = $h AND token = $t AND expires > {Now}", lease);
            return (long)cmd.ExecuteScalar()! == 1;
        }));

    public Task ReleaseAsync(Lease lease, CancellationToken ct = default) =>
        Task.FromResult(connections.Run(c =>
        {
            using var cmd = Command(c, $"UPDATE leases SET expires = {Now} WHERE name = $n AND holder = $h AND token = $t", lease);
            return cmd.ExecuteNonQuery();
        }));

    private static SqliteCommand Command(SqliteConnection c, string sql, Lease lease)
    {
        var cmd = SqliteSql.Command(c, null, sql);
        cmd.Parameters.AddWithValue("$n", lease.Name);
        cmd.Parameters.AddWithValue("$h", lease.Holder);
        cmd.Parameters.AddWithValue("$t", lease.Token);
        return cmd;
    }
}
