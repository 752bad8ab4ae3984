using Coffre.Kms;
using Coffre.Kms.Audit;
using Npgsql;

namespace Coffre.Postgres.Kms;

/// <summary>
/// <see cref="IAuditLog"/> in <c>kms_audit</c>: appends with asynchronous I/O, each batch in one transaction chained
/// after the head row it locks (<see cref="PostgresAuditAppender"/>), so several instances write one chain.
/// </summary>
internal sealed class PostgresAuditLog(PostgresConnections connections) : IAuditLog
{
    private const string Columns = "seq, time, principal, operation, key_id, key_name, key_version, context, result, prev_hash, hash";
    private volatile bool _relaxed;

    public IAuditCheckpointStore Checkpoints { get; } = new PostgresAuditCheckpointStore(connections);

    public bool CanRelaxDurability => true;

    /// <summary>
    /// <c>SET LOCAL synchronous_commit = off</c> on audit batches: the commit returns before the server flushes its WAL.
    /// The chain stays consistent, but a crash of the database server can lose the last records (up to three times
    /// its <c>wal_writer_delay</c>) of operations already answered. Key changes keep the server's setting.
    /// </summary>
    public bool RelaxedDurability
    {
        get => _relaxed;
        set => _relaxed = value;
    }

    public async Task AppendAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken = default)
    {
        if (entries.Count == 0) return;
        try
        {
            await using var c = await connections.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await PostgresAuditAppender.AppendInOwnTransactionAsync(c, entries, _relaxed, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            throw connections.AuditUnavailable(e);
        }
    }

    public IReadOnlyList<AuditRecord> Read(AuditFilter filter) => connections.Run(c =>
    {
        using var cmd = new NpgsqlCommand { Connection = c };
        var where = new List<string>();
        if (filter.Key is not null) { where.Add("(key_id = @key OR key_name = @key)"); cmd.Parameters.AddWithValue("key", filter.Key); }
        if (filter.Principal is not null) { where.Add("principal = @principal"); cmd.Parameters.AddWithValue("principal", filter.Principal); }
        if (filter.Operation is not null) { where.Add("operation = @operation"); cmd.Parameters.AddWithValue("operation", filter.Operation); }
        if (filter.From is { } from) { where.Add("time >= @from"); cmd.Parameters.AddWithValue("from", AuditChain.FormatTime(from)); }
        if (filter.To is { } to) { where.Add("time < @to"); cmd.Parameters.AddWithValue("to", AuditChain.FormatTime(to)); }
        if (filter.AfterSequence is { } after) { where.Add("seq > @after"); cmd.Parameters.AddWithValue("after", after); }
        if (filter.ThroughSequence is { } through) { where.Add("seq <= @through"); cmd.Parameters.AddWithValue("through", through); }
        var member = 0;
        foreach (var (name, value) in filter.Context ?? new Dictionary<string, string>())
        {
            if (name.Contains('"')) throw new ArgumentException($"A context filter member name cannot contain '\"' ({name}).", nameof(filter));
            where.Add($"(context::jsonb ->> @name{member}) = @value{member}");
            cmd.Parameters.AddWithValue($"name{member}", name);
            cmd.Parameters.AddWithValue($"value{member}", value);
            member++;
        }
        // The time texts are ISO 8601 in UTC with a fixed width: byte order ("C") is time order, as in SQLite.
        cmd.CommandText = $"SELECT {Columns} FROM kms_audit"
            + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "") + (filter.Newest ? " ORDER BY seq DESC" : " ORDER BY seq") + " LIMIT @limit";
        cmd.Parameters.AddWithValue("limit", Math.Max(0, filter.Limit));
        var list = new List<AuditRecord>();
        using var rd = cmd.ExecuteReader();
        while (rd.Read()) list.Add(ReadRecord(rd));
        if (filter.Newest) list.Reverse();
        return list;
    });

    public (long Sequence, byte[] Hash)? Head() => connections.Run<(long, byte[])?>(c =>
    {
        using var cmd = new NpgsqlCommand("SELECT seq, hash FROM kms_audit_head WHERE id = 1", c);
        using var r = cmd.ExecuteReader();
        return r.Read() && r.GetInt64(0) > 0 ? (r.GetInt64(0), r.GetFieldValue<byte[]>(1)) : null;
    });

    public byte[]? RecordHash(long sequence) => connections.Run(c =>
    {
        using var cmd = new NpgsqlCommand("SELECT hash FROM kms_audit WHERE seq = @s", c);
        cmd.Parameters.AddWithValue("s", sequence);
        return cmd.ExecuteScalar() as byte[];
    });

    private static AuditRecord ReadRecord(NpgsqlDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3),
        r.IsDBNull(4) ? null : r.GetString(4),
        r.IsDBNull(5) ? null : r.GetString(5),
        r.IsDBNull(6) ? null : r.GetInt32(6),
        r.IsDBNull(7) ? null : r.GetString(7),
        r.GetString(8),
        r.GetFieldValue<byte[]>(9),
        r.GetFieldValue<byte[]>(10));
}
