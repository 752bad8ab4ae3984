using Coffre.Kms.Store;
using Npgsql;

namespace Coffre.Postgres.Kms;

/// <summary>
/// Leases in <c>kms_leases</c>. Taking or renewing is one upsert whose condition (free, expired or ours) is evaluated
/// under the row's lock, so two instances racing for an expired lease cannot both win; expiry is measured by the
/// server's <c>clock_timestamp()</c>, so the instances' own clocks do not matter.
/// </summary>
internal sealed class PostgresLeaseStore(PostgresConnections connections) : ILeaseStore
{
    public Task<Lease?> TryAcquireAsync(string name, string holder, TimeSpan duration, CancellationToken ct = default) =>
        connections.RunAsync(async c =>
        {
            await using var cmd = new NpgsqlCommand("""
                INSERT INTO kms_leases (name, holder, token, expires) VALUES (@n, @h, 1, clock_timestamp() + @d)
                ON CONFLICT (name) DO UPDATE SET
                    token = CASE WHEN kms_leases.holder = excluded.holder THEN kms_leases.token ELSE kms_leases.token + 1 END,
                    holder = excluded.holder, expires = excluded.expires
                WHERE kms_leases.holder = excluded.holder OR kms_leases.expires <= clock_timestamp()
                RETURNING token, expires
                """, c);
            cmd.Parameters.AddWithValue("n", name);
            cmd.Parameters.AddWithValue("h", holder);
            cmd.Parameters.AddWithValue("d", duration);
            await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            if (!await reader.ReadAsync(ct).ConfigureAwait(false)) return null;
            return new Lease(name, holder, reader.GetInt64(0), new DateTimeOffset(reader.GetDateTime(1), TimeSpan.Zero));
        }, ct);

    public Task<bool> IsHeldAsync(Lease lease, CancellationToken ct = default) =>
        connections.RunAsync(async c =>
        {
            await using var cmd = Command(c, "SELECT count(*) FROM kms_leases WHERE name = @n AND holder = @h AND token = @t AND expires > clock_timestamp()", lease);
            return (long)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))! == 1;
        }, ct);

    public Task ReleaseAsync(Lease lease, CancellationToken ct = default) =>
        connections.RunAsync(async c =>
        {
            await using var cmd = Command(c, "UPDATE kms_leases SET expires = clock_timestamp() WHERE name = @n AND holder = @h AND token = @t", lease);
            return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }, ct);

    private static NpgsqlCommand Command(NpgsqlConnection c, string sql, Lease lease)
    {
        var cmd = new NpgsqlCommand(sql, c);
        cmd.Parameters.AddWithValue("n", lease.Name);
        cmd.Parameters.AddWithValue("h", lease.Holder);
        cmd.Parameters.AddWithValue("t", lease.Token);
        return cmd;
    }
}
