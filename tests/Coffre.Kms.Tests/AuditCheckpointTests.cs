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
        _checkpoints = new AuditCheckpointer(_keys, _env.Deployment.Audit, _env.Clock);
        _keys.CreateKey("finance", null, TestEnvironment.Alice);
        for (var i = 0; i < 5; i++) _keys.GenerateDataKey("finance", null, TestEnvironment.Alice).Dispose();
    }

    public void Dispose() => _env.Dispose();

    private long LastSequence() => _keys.ReadAudit(AuditFilter.All with { Limit = 100_000 }, TestEnvironment.Alice).Max(r => r.Sequence);

    [Fact]
    public void Checkpoints_of_an_intact_trail_are_chained_and_signed_at_every_call_even_without_new_records()
    {
        var first = _checkpoints.Write()!;
        _env.Clock.Advance(TimeSpan.FromMinutes(1));
        var second = _checkpoints.Write()!; // a quiet minute still gets its checkpoint: that is how a stopped signer shows
        Assert.Equal((1L, 2L), (first.Number, second.Number));
        Assert.Equal(first.Sequence, second.Sequence);
        Assert.Equal(AuditCheckpoint.Genesis, first.Previous);
        Assert.Equal(first.Digest(), second.Previous);
        var verification = _checkpoints.Verify();
        Assert.True(verification.Ok, verification.Reason);
        Assert.Equal(2, verification.RecordsChecked);
        Assert.Matches("^[0-9a-f]{64}$", _checkpoints.PublicKeyFingerprint());
    }

    [Fact]
    public void A_checkpoint_removed_from_the_middle_of_the_chain_is_detected()
    {
        for (var i = 0; i < 3; i++)
        {
            _keys.GenerateDataKey("finance", null, TestEnvironment.Alice).Dispose();
            _checkpoints.Write();
        }
        // Remove #2 and renumber #3 as #2: the number now runs on, but #3 names #2's digest, which nothing has any more.
        _env.Sql("DELETE FROM audit_checkpoint_chain WHERE number = 2");
        var gap = _checkpoints.Verify();
        Assert.False(gap.Ok);
        Assert.Contains("checkpoint #2 is missing", gap.Reason);
        _env.Sql("UPDATE audit_checkpoint_chain SET number = 2 WHERE number = 3");
        var renumbered = _checkpoints.Verify();
        Assert.False(renumbered.Ok);
        Assert.Contains("invalid signature", renumbered.Reason); // the number is signed
    }

    [Fact]
    public void Unchained_checkpoints_of_an_older_data_directory_still_verify_and_the_chain_continues_from_the_newest()
    {
        // What a data directory from before chaining holds: v1 checkpoints in audit_checkpoints, signed with the same key.
        _checkpoints.Write();
        var key = _env.Deployment.Audit.Checkpoints.GetSigningKey()!.Value;
        _env.Sql("DELETE FROM audit_checkpoint_chain");
        using var ecdsa = SigningKeyOf(key.WrappedPrivateKey, key.PublicKey);
        var last = LastSequence();
        var hash = RecordHashOf(last);
        var v1 = new AuditCheckpoint(AuditCheckpoint.Unchained, 0, last, hash, [], "2025-03-01T09:00:00.0000000Z", []);
        v1 = v1 with { Signature = ecdsa.SignData(v1.SignedBytes(), HashAlgorithmName.SHA256) };
        _env.Sql($"INSERT INTO audit_checkpoints (seq, hash, time, signature) VALUES ({last}, X'{Convert.ToHexString(hash)}', '{v1.TimeText}', X'{Convert.ToHexString(v1.Signature)}')");
        Assert.True(_checkpoints.Verify().Ok, _checkpoints.Verify().Reason);

        var chained = _checkpoints.Write()!;
        Assert.Equal(1, chained.Number);
        Assert.Equal(v1.Digest(), chained.Previous);
        Assert.True(_checkpoints.Verify().Ok, _checkpoints.Verify().Reason);
        _env.Sql("DELETE FROM audit_checkpoints"); // the chain names the unchained checkpoint it followed
        Assert.Contains("does not follow", _checkpoints.Verify().Reason);
    }

    [Fact]
    public async Task A_signing_key_without_a_checkpoint_newer_than_two_intervals_is_a_finding()
    {
        var store = _env.Deployment.Audit;
        _checkpoints.Write();
        var fresh = await PublishedCheckpointCheck.RunAsync(store, [], null, _env.Clock.GetUtcNow() + TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2), default);
        Assert.Empty(fresh.Findings);
        var stale = await PublishedCheckpointCheck.RunAsync(store, [], null, _env.Clock.GetUtcNow() + TimeSpan.FromMinutes(3), TimeSpan.FromMinutes(2), default);
        var finding = Assert.Single(stale.Findings);
        Assert.Equal("signing-stopped", finding.Code);
        Assert.Contains("2025-03-01T09:00:00", finding.Message);
    }

    [Fact]
    public async Task A_signing_key_in_keys_db_other_than_the_pinned_one_is_a_finding()
    {
        _checkpoints.Write();
        var pinned = _checkpoints.PublicKeyFingerprint()!;
        // The attacker puts their own key in keys.db and re-signs every checkpoint with it: the local check passes...
        ReplaceSigningKeyAndResign(out _);
        Assert.True(_checkpoints.Verify().Ok);
        // ...but not against the fingerprint the auditor kept.
        var report = await PublishedCheckpointCheck.RunAsync(_env.Deployment.Audit, [], pinned, _env.Clock.GetUtcNow(), TimeSpan.FromMinutes(2), default);
        Assert.Equal("signing-key-replaced", Assert.Single(report.Findings).Code);
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
        _env.Sql($"INSERT INTO audit_checkpoint_chain (number, seq, hash, previous, time, signature) SELECT 2, seq, hash, zeroblob(32), '2025-03-01T09:00:00.0000000Z', X'{Convert.ToHexString(forgedSignature)}' FROM audit WHERE seq = {last}");
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
        var forged = new AuditCheckpoint(AuditCheckpoint.Chained, 2, last, hash, _checkpoints.Store.Newest()!.Digest(), time, []);
        var signature = other.SignData(forged.SignedBytes(), HashAlgorithmName.SHA256);
        _env.Sql($"INSERT INTO audit_checkpoint_chain (number, seq, hash, previous, time, signature) VALUES (2, {last}, X'{Convert.ToHexString(hash)}', " +
            $"X'{Convert.ToHexString(forged.Previous)}', '{time}', X'{Convert.ToHexString(signature)}')");
        Assert.False(_checkpoints.Verify().Ok);
    }

    [Fact]
    public void The_checkpoint_private_key_is_stored_only_wrapped_by_the_root()
    {
        _checkpoints.Write();
        var wrapped = _env.Deployment.Audit.Checkpoints.GetSigningKey()!.Value.WrappedPrivateKey;
        var d = new byte[32];
        _keys.UnwrapWithRoot(wrapped, "coffre/v1/audit-checkpoint-key"u8, d);
        Assert.Equal(-1, _env.StoreBytes().AsSpan().IndexOf(d));
    }

    private byte[] RecordHashOf(long sequence) => _env.Deployment.Audit.RecordHash(sequence)!;

    private ECDsa SigningKeyOf(byte[] wrapped, byte[] publicKey)
    {
        var d = new byte[32];
        _keys.UnwrapWithRoot(wrapped, "coffre/v1/audit-checkpoint-key"u8, d);
        using var pub = ECDsa.Create();
        pub.ImportSubjectPublicKeyInfo(publicKey, out _);
        return ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = pub.ExportParameters(false).Q, D = d });
    }

    /// <summary>What an attacker without the root can do: put a key of their own in keys.db and re-sign the whole chain with it.</summary>
    internal void ReplaceSigningKeyAndResign(out ECDsa attacker)
    {
        attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _env.Sql($"UPDATE audit_signing_key SET public_key = X'{Convert.ToHexString(attacker.ExportSubjectPublicKeyInfo())}'");
        var previous = AuditCheckpoint.Genesis;
        foreach (var c in _env.Deployment.Audit.Checkpoints.List())
        {
            var resigned = c with { Previous = previous };
            resigned = resigned with { Signature = attacker.SignData(resigned.SignedBytes(), HashAlgorithmName.SHA256) };
            _env.Sql($"UPDATE audit_checkpoint_chain SET previous = X'{Convert.ToHexString(resigned.Previous)}', signature = X'{Convert.ToHexString(resigned.Signature)}' WHERE number = {c.Number}");
            previous = resigned.Digest();
        }
    }
}
