using System.Security.Cryptography;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Kms.Store;

namespace Coffre.Kms.Tests;

/// <summary>Signed checkpoints catch what the hash chain alone cannot: a cut-off tail and a recomputed chain.</summary>
public sealed class AuditCheckpointTests : IDisposable
{
    private readonly TestEnvironment _env = new();
    private readonly KeyManager _keys;
    private readonly AuditCheckpointer _checkpoints;

    public AuditCheckpointTests()
    {
        _keys = _env.Initialize();
        _checkpoints = new AuditCheckpointer(_keys, new SqliteAuditCheckpointStore(_env.DbPath), _env.Clock);
        _keys.CreateKey("finance", null, TestEnvironment.Alice);
        for (var i = 0; i < 5; i++) _keys.GenerateDataKey("finance", null, TestEnvironment.Alice).Dispose();
    }

    public void Dispose() => _env.Dispose();

    private long LastSequence() => _keys.ReadAudit(AuditFilter.All with { Limit = 100_000 }, TestEnvironment.Alice).Max(r => r.Sequence);

    [Fact]
    public void A_checkpoint_of_an_intact_trail_verifies_and_is_not_repeated_without_new_records()
    {
        var written = _checkpoints.Write();
        Assert.NotNull(written);
        var verification = _checkpoints.Verify();
        Assert.True(verification.Ok, verification.Reason);
        Assert.Equal(1, verification.RecordsChecked);
        Assert.Matches("^[0-9a-f]{64}$", _checkpoints.PublicKeyFingerprint());
    }

    [Fact]
    public void Cutting_off_records_covered_by_a_checkpoint_is_detected()
    {
        var checkpoint = _checkpoints.Write()!;
        _env.Sql($"DELETE FROM audit WHERE seq >= {checkpoint.Sequence - 1}");
        Assert.True(_keys.VerifyAudit(TestEnvironment.Alice).Ok); // the shortened chain is still a valid chain...
        var verification = _checkpoints.Verify();                 // ...but the signed checkpoint names a record that is gone
        Assert.False(verification.Ok);
        Assert.Equal(checkpoint.Sequence, verification.FirstBadSequence);
        Assert.Contains("truncated", verification.Reason);
    }

    [Fact]
    public void A_rewritten_record_with_a_recomputed_chain_is_detected()
    {
        var checkpoint = _checkpoints.Write()!;
        // An attacker with write access edits a record and recomputes every hash after it, so the chain verifies.
        // (Read straight from the database: reading through the key manager would itself append records.)
        var records = new List<AuditRecord>();
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_env.DbPath};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT seq, time, principal, operation, key_id, key_name, key_version, context, result FROM audit ORDER BY seq";
            using var r = cmd.ExecuteReader();
            string? S(int i) => r.IsDBNull(i) ? null : r.GetString(i);
            while (r.Read())
                records.Add(new AuditRecord(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), S(4), S(5),
                    r.IsDBNull(6) ? null : r.GetInt32(6), S(7), r.GetString(8), [], []));
        }
        var prev = AuditChain.Genesis;
        foreach (var r in records)
        {
            var edited = r.Sequence == 3 ? r with { Principal = "mallory" } : r;
            var hash = AuditChain.Hash(prev, edited);
            _env.Sql($"UPDATE audit SET principal = '{edited.Principal}', prev_hash = X'{Convert.ToHexString(prev)}', hash = X'{Convert.ToHexString(hash)}' WHERE seq = {r.Sequence}");
            prev = hash;
        }
        Assert.True(_keys.VerifyAudit(TestEnvironment.Alice).Ok);
        var verification = _checkpoints.Verify();
        Assert.False(verification.Ok);
        Assert.Equal(checkpoint.Sequence, verification.FirstBadSequence);
        Assert.Contains("rewritten", verification.Reason);
    }

    [Fact]
    public void A_forged_checkpoint_is_detected()
    {
        _checkpoints.Write();
        _keys.GenerateDataKey("finance", null, TestEnvironment.Alice).Dispose();
        var last = LastSequence();
        var forgedSignature = RandomNumberGenerator.GetBytes(64);
        _env.Sql($"INSERT INTO audit_checkpoints (seq, hash, time, signature) SELECT seq, hash, '2025-03-01T09:00:00.0000000Z', X'{Convert.ToHexString(forgedSignature)}' FROM audit WHERE seq = {last}");
        var verification = _checkpoints.Verify();
        Assert.False(verification.Ok);
        Assert.Equal(last, verification.FirstBadSequence);
        Assert.Contains("invalid signature", verification.Reason);
    }

    [Fact]
    public void A_checkpoint_signed_by_another_key_is_detected()
    {
        _checkpoints.Write();
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _keys.GenerateDataKey("finance", null, TestEnvironment.Alice).Dispose();
        var last = LastSequence();
        var hash = _keys.ReadAudit(AuditFilter.All with { Limit = 100_000 }, TestEnvironment.Alice).Single(r => r.Sequence == last).Hash;
        const string time = "2025-03-01T09:00:00.0000000Z";
        var signature = other.SignData(AuditCheckpointer.SignedBytes(last, hash, time), HashAlgorithmName.SHA256);
        _env.Sql($"INSERT INTO audit_checkpoints (seq, hash, time, signature) VALUES ({last}, X'{Convert.ToHexString(hash)}', '{time}', X'{Convert.ToHexString(signature)}')");
        Assert.False(_checkpoints.Verify().Ok);
    }

    [Fact]
    public void The_checkpoint_private_key_is_stored_only_wrapped_by_the_root()
    {
        _checkpoints.Write();
        var wrapped = new SqliteAuditCheckpointStore(_env.DbPath).GetSigningKey()!.Value.WrappedPrivateKey;
        var d = new byte[32];
        _keys.UnwrapWithRoot(wrapped, "coffre/v1/audit-checkpoint-key"u8, d);
        Assert.Equal(-1, _env.StoreBytes().AsSpan().IndexOf(d));
    }
}
