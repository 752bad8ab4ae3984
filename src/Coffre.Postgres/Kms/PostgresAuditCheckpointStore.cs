using Coffre.Kms;
using Coffre.Kms.Audit;
using Npgsql;

namespace Coffre.Postgres.Kms;

/// <summary>Audit checkpoints and their signing key, in tables beside the audit chain (docs/format.md §9).</summary>
internal sealed class PostgresAuditCheckpointStore(PostgresConnections connections) : IAuditCheckpointStore
{
    public (byte[] PublicKey, byte[] WrappedPrivateKey)? GetSigningKey() => connections.Run<(byte[], byte[])?>(c =>
    {
        using var cmd = new NpgsqlCommand("SELECT public_key, wrapped_private_key FROM kms_audit_signing_key WHERE id = 1", c);
        using var r = cmd.ExecuteReader();
        return r.Read() ? (r.GetFieldValue<byte[]>(0), r.GetFieldValue<byte[]>(1)) : null;
    });

    public (byte[] PublicKey, byte[] WrappedPrivateKey) SetSigningKeyIfAbsent(byte[] publicKey, byte[] wrappedPrivateKey)
    {
        connections.Run(c =>
        {
            using var cmd = new NpgsqlCommand("INSERT INTO kms_audit_signing_key (id, public_key, wrapped_private_key) VALUES (1, @p, @w) ON CONFLICT (id) DO NOTHING", c);
            cmd.Parameters.AddWithValue("p", publicKey);
            cmd.Parameters.AddWithValue("w", wrappedPrivateKey);
            return cmd.ExecuteNonQuery();
        });
        return GetSigningKey()!.Value;
    }

    public void ReplaceWrappedPrivateKey(byte[] publicKey, byte[] wrappedPrivateKey) => connections.Run(c =>
    {
        using var cmd = new NpgsqlCommand("UPDATE kms_audit_signing_key SET wrapped_private_key = @w WHERE id = 1 AND public_key = @p", c);
        cmd.Parameters.AddWithValue("p", publicKey);
        cmd.Parameters.AddWithValue("w", wrappedPrivateKey);
        return cmd.ExecuteNonQuery();
    });

    public void Add(AuditCheckpoint checkpoint)
    {
        try
        {
            connections.Run(c =>
            {
                using var cmd = new NpgsqlCommand("INSERT INTO kms_audit_checkpoint_chain (number, seq, hash, previous, time, signature) VALUES (@n, @s, @h, @p, @t, @g)", c);
                cmd.Parameters.AddWithValue("n", checkpoint.Number);
                cmd.Parameters.AddWithValue("s", checkpoint.Sequence);
                cmd.Parameters.AddWithValue("h", checkpoint.Hash);
                cmd.Parameters.AddWithValue("p", checkpoint.Previous);
                cmd.Parameters.AddWithValue("t", checkpoint.TimeText);
                cmd.Parameters.AddWithValue("g", checkpoint.Signature);
                return cmd.ExecuteNonQuery();
            });
        }
        catch (KmsException e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            throw new KmsException(KmsError.Conflict, $"Audit checkpoint #{checkpoint.Number} was already signed by another instance.", e);
        }
    }

    public AuditCheckpoint? Newest() =>
        Query(ChainSelect + " ORDER BY number DESC LIMIT 1") is [var chained] ? chained
        : Query(UnchainedSelect + " ORDER BY seq DESC LIMIT 1") is [var unchained] ? unchained : null;

    public AuditCheckpoint? Chained(long number) => Query(ChainSelect + " WHERE number = " + number) is [var c] ? c : null;

    public IReadOnlyList<AuditCheckpoint> List() => [.. Query(UnchainedSelect + " ORDER BY seq"), .. Query(ChainSelect + " ORDER BY number")];

    // Both selects give: version, number, seq, hash, previous, time, signature.
    private const string UnchainedSelect = "SELECT 1, 0::bigint, seq, hash, ''::bytea, time, signature FROM kms_audit_checkpoints";
    private const string ChainSelect = "SELECT 2, number, seq, hash, previous, time, signature FROM kms_audit_checkpoint_chain";

    private List<AuditCheckpoint> Query(string sql) => connections.Run(c =>
    {
        using var cmd = new NpgsqlCommand(sql, c);
        using var r = cmd.ExecuteReader();
        var list = new List<AuditCheckpoint>();
        while (r.Read())
            list.Add(new AuditCheckpoint(r.GetInt32(0), r.GetInt64(1), r.GetInt64(2), r.GetFieldValue<byte[]>(3), r.GetFieldValue<byte[]>(4), r.GetString(5), r.GetFieldValue<byte[]>(6)));
        return list;
    });
}
