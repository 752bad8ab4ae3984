using Coffre.Kms;
using Coffre.Kms.Audit;
using Coffre.Persistence;
using Microsoft.Data.Sqlite;

namespace Coffre.Sqlite.Kms;

/// <summary>
/// <see cref="IAuditLog"/> in the audit table of keys.db (docs/format.md §6.3). Appends run on one dedicated writer
/// connection whose statements stay prepared; SQLite offers no asynchronous I/O, so appends run on the log's own
/// writer thread (<see cref="BlockingIoThread"/>), and neither the group commit's drain loop nor the waiting callers
/// hold a thread-pool thread during the fsync.
/// </summary>
internal sealed class SqliteAuditLog : IAuditLog, IDisposable
{
    private const string Columns = "seq, time, principal, operation, key_id, key_name, key_version, context, result, prev_hash, hash";
    private readonly SqliteConnections _connections;
    private readonly object _writerLock = new();
    private readonly BlockingIoThread _thread = new("coffre keys.db audit writer");
    private SqliteConnection? _writer;
    private SqliteAuditAppender? _appender;
    private bool _relaxed;

    public SqliteAuditLog(SqliteConnections connections)
    {
        _connections = connections;
        Checkpoints = new SqliteAuditCheckpointStore(connections);
    }

    public IAuditCheckpointStore Checkpoints { get; }

    public bool CanRelaxDurability => true;

    /// <summary>
    /// SQLite's <c>PRAGMA synchronous = NORMAL</c> on the audit writer's connection: a commit does not wait for fsync. The
    /// WAL keeps the chain consistent and an application crash loses nothing, but a power failure or kernel crash can
    /// lose the last audit records of operations already answered. Key changes keep FULL.
    /// </summary>
    public bool RelaxedDurability
    {
        get => _relaxed;
        set
        {
            lock (_writerLock)
            {
                _relaxed = value;
                CloseWriter();
            }
        }
    }

    public Task AppendAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken = default) =>
        entries.Count == 0 ? Task.CompletedTask : _thread.RunAsync(() => Append(entries));

    private bool Append(IReadOnlyList<AuditEntry> entries)
    {
        lock (_writerLock)
        {
            try
            {
                if (_writer is null)
                {
                    _writer = _connections.Open();
                    if (_relaxed) SqliteSql.Exec(_writer, "PRAGMA synchronous = NORMAL;");
                    _appender = new SqliteAuditAppender(_writer);
                }
                using var tx = _writer.BeginTransaction(deferred: false);
                _appender!.Append(tx, entries);
                // Microsoft.Data.Sqlite has no asynchronous I/O (its *Async methods run synchronously): this is the writer thread.
#pragma warning disable VSTHRD103
                tx.Commit();
#pragma warning restore VSTHRD103
            }
            catch (Exception e) when (e is SqliteException or KmsException { Error: KmsError.StoreUnavailable })
            {
                CloseWriter();
                throw new KmsException(KmsError.AuditUnavailable,
                    "The audit trail could not be written, so the operation was refused (no audit, no answer). Check the key store's disk and permissions.", e);
            }
        }
        return true;
    }

    public IReadOnlyList<AuditRecord> Read(AuditFilter filter) => _connections.Read(r =>
    {
        using var cmd = r.Connection.CreateCommand();
        var where = new List<string>();
        if (filter.Key is not null) { where.Add("(key_id = $key OR key_name = $key)"); cmd.Parameters.AddWithValue("$key", filter.Key); }
        if (filter.Principal is not null) { where.Add("principal = $principal"); cmd.Parameters.AddWithValue("$principal", filter.Principal); }
        if (filter.Operation is not null) { where.Add("operation = $operation"); cmd.Parameters.AddWithValue("$operation", filter.Operation); }
        if (filter.From is { } from) { where.Add("time >= $from"); cmd.Parameters.AddWithValue("$from", AuditChain.FormatTime(from)); }
        if (filter.To is { } to) { where.Add("time < $to"); cmd.Parameters.AddWithValue("$to", AuditChain.FormatTime(to)); }
        if (filter.AfterSequence is { } after) { where.Add("seq > $after"); cmd.Parameters.AddWithValue("$after", after); }
        if (filter.ThroughSequence is { } through) { where.Add("seq <= $through"); cmd.Parameters.AddWithValue("$through", through); }
        var member = 0;
        foreach (var (name, value) in filter.Context ?? new Dictionary<string, string>())
        {
            if (name.Contains('"')) throw new ArgumentException($"A context filter member name cannot contain '\"' ({name}).", nameof(filter));
            where.Add($"json_extract(context, $path{member}) = $value{member}");
            cmd.Parameters.AddWithValue($"$path{member}", $"$.\"{name}\"");
            cmd.Parameters.AddWithValue($"$value{member}", value);
            member++;
        }
        cmd.CommandText = $"SELECT {Columns} FROM audit"
            + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "") + (filter.Newest ? " ORDER BY seq DESC" : " ORDER BY seq") + " LIMIT $limit";
        cmd.Parameters.AddWithValue("$limit", Math.Max(0, filter.Limit));
        var list = new List<AuditRecord>();
        using var rd = cmd.ExecuteReader();
        while (rd.Read()) list.Add(ReadRecord(rd));
        if (filter.Newest) list.Reverse();
        return list;
    });

    public (long Sequence, byte[] Hash)? Head() => _connections.Read<(long, byte[])?>(r =>
    {
        using var cmd = SqliteSql.Command(r.Connection, null, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
        using var rd = cmd.ExecuteReader();
        return rd.Read() ? (rd.GetInt64(0), (byte[])rd[1]) : null;
    });

    public byte[]? RecordHash(long sequence) => _connections.Read(r =>
    {
        using var cmd = SqliteSql.Command(r.Connection, null, "SELECT hash FROM audit WHERE seq = $s");
        cmd.Parameters.AddWithValue("$s", sequence);
        return cmd.ExecuteScalar() as byte[];
    });

    private static AuditRecord ReadRecord(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3),
        r.IsDBNull(4) ? null : r.GetString(4),
        r.IsDBNull(5) ? null : r.GetString(5),
        r.IsDBNull(6) ? null : r.GetInt32(6),
        r.IsDBNull(7) ? null : r.GetString(7),
        r.GetString(8),
        (byte[])r.GetValue(9),
        (byte[])r.GetValue(10));

    private void CloseWriter()
    {
        _appender?.Dispose();
        _appender = null;
        _writer?.Dispose();
        _writer = null;
    }

    public void Dispose()
    {
        _thread.Dispose();
        lock (_writerLock) CloseWriter();
    }
}
