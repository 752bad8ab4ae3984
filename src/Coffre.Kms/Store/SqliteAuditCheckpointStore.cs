using Coffre.Kms.Audit;
using Microsoft.Data.Sqlite;

namespace Coffre.Kms.Store;

/// <summary>
/// Audit checkpoints and their signing key, in tables of keys.db beside the audit trail they cover. Chained
/// checkpoints go to <c>audit_checkpoint_chain</c>; <c>audit_checkpoints</c> holds the unchained ones of data
/// directories from before chaining, read and verified but never written (docs/format.md §9).
/// </summary>
public sealed class SqliteAuditCheckpointStore : IAuditCheckpointStore
{
    private readonly string _connectionString;

    public SqliteAuditCheckpointStore(string keysDbPath)
    {
        _connectionString = new SqliteConnectionStringBuilder { DataSource = keysDbPath, Mode = SqliteOpenMode.ReadWrite, DefaultTimeout = 30 }.ToString();
        using var c = Open();
        Exec(c, """
            CREATE TABLE IF NOT EXISTS audit_signing_key (
                id INTEGER PRIMARY KEY CHECK (id = 1), public_key BLOB NOT NULL, wrapped_private_key BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS audit_checkpoints (
                seq INTEGER PRIMARY KEY, hash BLOB NOT NULL, time TEXT NOT NULL, signature BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS audit_checkpoint_chain (
                number INTEGER PRIMARY KEY, seq INTEGER NOT NULL, hash BLOB NOT NULL, previous BLOB NOT NULL,
                time TEXT NOT NULL, signature BLOB NOT NULL);
            """);
    }

    public (byte[] PublicKey, byte[] WrappedPrivateKey)? GetSigningKey()
    {
        using var c = Open();
        using var cmd = Cmd(c, "SELECT public_key, wrapped_private_key FROM audit_signing_key WHERE id = 1");
        using var r = cmd.ExecuteReader();
        return r.Read() ? ((byte[])r[0], (byte[])r[1]) : null;
    }

    public (byte[] PublicKey, byte[] WrappedPrivateKey) SetSigningKeyIfAbsent(byte[] publicKey, byte[] wrappedPrivateKey)
    {
        using (var c = Open())
        using (var cmd = Cmd(c, "INSERT OR IGNORE INTO audit_signing_key (id, public_key, wrapped_private_key) VALUES (1, $p, $w)", ("$p", publicKey), ("$w", wrappedPrivateKey)))
            cmd.ExecuteNonQuery();
        return GetSigningKey()!.Value;
    }

    public (long Sequence, byte[] Hash)? LastRecord()
    {
        using var c = Open();
        using var cmd = Cmd(c, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
        using var r = cmd.ExecuteReader();
        return r.Read() ? (r.GetInt64(0), (byte[])r[1]) : null;
    }

    public byte[]? RecordHash(long sequence)
    {
        using var c = Open();
        using var cmd = Cmd(c, "SELECT hash FROM audit WHERE seq = $s", ("$s", sequence));
        return cmd.ExecuteScalar() as byte[];
    }

    public void Add(AuditCheckpoint checkpoint)
    {
        using var c = Open();
        using var cmd = Cmd(c, "INSERT INTO audit_checkpoint_chain (number, seq, hash, previous, time, signature) VALUES ($n, $s, $h, $p, $t, $g)",
            ("$n", checkpoint.Number), ("$s", checkpoint.Sequence), ("$h", checkpoint.Hash), ("$p", checkpoint.Previous),
            ("$t", checkpoint.TimeText), ("$g", checkpoint.Signature));
        cmd.ExecuteNonQuery();
    }

    public AuditCheckpoint? Newest() =>
        Query(ChainSelect + " ORDER BY number DESC LIMIT 1") is [var chained] ? chained
        : Query(UnchainedSelect + " ORDER BY seq DESC LIMIT 1") is [var unchained] ? unchained : null;

    public AuditCheckpoint? Chained(long number) => Query(ChainSelect + " WHERE number = $n", ("$n", number)) is [var c] ? c : null;

    public IReadOnlyList<AuditCheckpoint> List() => [.. Query(UnchainedSelect + " ORDER BY seq"), .. Query(ChainSelect + " ORDER BY number")];

    // Both selects give: version, number, seq, hash, previous, time, signature.
    private const string UnchainedSelect = "SELECT 1, 0, seq, hash, X'', time, signature FROM audit_checkpoints";
    private const string ChainSelect = "SELECT 2, number, seq, hash, previous, time, signature FROM audit_checkpoint_chain";

    private List<AuditCheckpoint> Query(string sql, params (string, object)[] args)
    {
        using var c = Open();
        using var cmd = Cmd(c, sql, args);
        using var r = cmd.ExecuteReader();
        var list = new List<AuditCheckpoint>();
        while (r.Read())
            list.Add(new AuditCheckpoint(r.GetInt32(0), r.GetInt64(1), r.GetInt64(2), (byte[])r[3], (byte[])r[4], r.GetString(5), (byte[])r[6]));
        return list;
    }

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        Exec(c, "PRAGMA synchronous = FULL;");
        return c;
    }

    private static SqliteCommand Cmd(SqliteConnection c, string sql, params (string, object)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
        return cmd;
    }

    private static void Exec(SqliteConnection c, string sql)
    {
        using var cmd = Cmd(c, sql);
        cmd.ExecuteNonQuery();
    }
}
