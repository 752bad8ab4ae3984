using Coffre.Kms.Audit;
using Microsoft.Data.Sqlite;

namespace Coffre.Kms.Store;

/// <summary>Audit checkpoints and their signing key, in tables of keys.db beside the audit trail they cover.</summary>
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
        using var cmd = Cmd(c, "INSERT INTO audit_checkpoints (seq, hash, time, signature) VALUES ($s, $h, $t, $g)",
            ("$s", checkpoint.Sequence), ("$h", checkpoint.Hash), ("$t", checkpoint.TimeText), ("$g", checkpoint.Signature));
        cmd.ExecuteNonQuery();
    }

    public IReadOnlyList<AuditCheckpoint> List()
    {
        using var c = Open();
        using var cmd = Cmd(c, "SELECT seq, hash, time, signature FROM audit_checkpoints ORDER BY seq");
        using var r = cmd.ExecuteReader();
        var list = new List<AuditCheckpoint>();
        while (r.Read()) list.Add(new AuditCheckpoint(r.GetInt64(0), (byte[])r[1], r.GetString(2), (byte[])r[3]));
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
