using Coffre.Kms.Audit;
using Microsoft.Data.Sqlite;

namespace Coffre.Sqlite.Kms;

/// <summary>
/// Audit checkpoints and their signing key, in tables of keys.db beside the audit trail they cover. Chained
/// checkpoints go to <c>audit_checkpoint_chain</c>; <c>audit_checkpoints</c> holds the unchained ones of data
/// directories from before chaining, read and verified but never written (docs/format.md §9).
/// </summary>
internal sealed class SqliteAuditCheckpointStore(SqliteConnections connections) : IAuditCheckpointStore
{
    public (byte[] PublicKey, byte[] WrappedPrivateKey)? GetSigningKey() => connections.Run<(byte[], byte[])?>(c =>
    {
        using var cmd = Cmd(c, "SELECT public_key, wrapped_private_key FROM audit_signing_key WHERE id = 1");
        using var r = cmd.ExecuteReader();
        return r.Read() ? ((byte[])r[0], (byte[])r[1]) : null;
    });

    public (byte[] PublicKey, byte[] WrappedPrivateKey) SetSigningKeyIfAbsent(byte[] publicKey, byte[] wrappedPrivateKey)
    {
        connections.Run(c =>
        {
            using var cmd = Cmd(c, "INSERT OR IGNORE INTO audit_signing_key (id, public_key, wrapped_private_key) VALUES (1, $p, $w)", ("$p", publicKey), ("$w", wrappedPrivateKey));
            return cmd.ExecuteNonQuery();
        });
        return GetSigningKey()!.Value;
    }

    public void ReplaceWrappedPrivateKey(byte[] publicKey, byte[] wrappedPrivateKey) => connections.Run(c =>
    {
        using var cmd = Cmd(c, "UPDATE audit_signing_key SET wrapped_private_key = $w WHERE id = 1 AND public_key = $p", ("$p", publicKey), ("$w", wrappedPrivateKey));
        return cmd.ExecuteNonQuery();
    });

    public void Add(AuditCheckpoint checkpoint) => connections.Run(c =>
    {
        using var cmd = Cmd(c, "INSERT INTO audit_checkpoint_chain (number, seq, hash, previous, time, signature) VALUES ($n, $s, $h, $p, $t, $g)",
            ("$n", checkpoint.Number), ("$s", checkpoint.Sequence), ("$h", checkpoint.Hash), ("$p", checkpoint.Previous),
            ("$t", checkpoint.TimeText), ("$g", checkpoint.Signature));
        return cmd.ExecuteNonQuery();
    });

    public AuditCheckpoint? Newest() =>
        Query(ChainSelect + " ORDER BY number DESC LIMIT 1") is [var chained] ? chained
        : Query(UnchainedSelect + " ORDER BY seq DESC LIMIT 1") is [var unchained] ? unchained : null;

    public AuditCheckpoint? Chained(long number) => Query(ChainSelect + " WHERE number = $n", ("$n", number)) is [var c] ? c : null;

    public IReadOnlyList<AuditCheckpoint> List() => [.. Query(UnchainedSelect + " ORDER BY seq"), .. Query(ChainSelect + " ORDER BY number")];

    // Both selects give: version, number, seq, hash, previous, time, signature.
    private const string UnchainedSelect = "SELECT 1, 0, seq, hash, X'', time, signature FROM audit_checkpoints";
    private const string ChainSelect = "SELECT 2, number, seq, hash, previous, time, signature FROM audit_checkpoint_chain";

    private List<AuditCheckpoint> Query(string sql, params (string, object)[] args) => connections.Run(c =>
    {
        using var cmd = Cmd(c, sql, args);
        using var r = cmd.ExecuteReader();
        var list = new List<AuditCheckpoint>();
        while (r.Read())
            list.Add(new AuditCheckpoint(r.GetInt32(0), r.GetInt64(1), r.GetInt64(2), (byte[])r[3], (byte[])r[4], r.GetString(5), (byte[])r[6]));
        return list;
    });

    private static SqliteCommand Cmd(SqliteConnection c, string sql, params (string, object)[] args)
    {
        var cmd = SqliteSql.Command(c, null, sql);
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
        return cmd;
    }
}
