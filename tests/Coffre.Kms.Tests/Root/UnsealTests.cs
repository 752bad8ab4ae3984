using Coffre.Kms.Keys;
using Coffre.Kms.Root;
using Microsoft.Extensions.Time.Testing;

namespace Coffre.Kms.Tests.Root;

/// <summary>Shamir-sealed data directories, the unsealer's refusals, and the key manager's sealed state.</summary>
public class UnsealTests
{
    private static (KeyManager Keys, IReadOnlyList<string> Shares) Shamir(TestEnvironment env, int n = 5, int k = 3) =>
        env.InitializeShamir(n, k);

    private static RootUnsealer Unsealer(TestEnvironment env) => new(env.SealPath, env.Options.Seal, env.Clock);

    private static IRootOfTrust? SubmitAll(RootUnsealer unsealer, IEnumerable<string> shares)
    {
        IRootOfTrust? root = null;
        foreach (var s in shares) root = unsealer.Submit(s, out _);
        return root;
    }

    [Fact]
    public void Any_threshold_of_the_shares_open_the_root_and_fewer_do_not()
    {
        using var env = new TestEnvironment();
        var (keys, shares) = Shamir(env);
        byte[] blob;
        using (keys)
        {
            keys.CreateKey("k", null, TestEnvironment.Alice);
            blob = keys.Encrypt("k", "hello"u8, null, TestEnvironment.Alice);
        }
        Assert.DoesNotContain(shares, s => File.ReadAllText(env.SealPath).Contains(s[UnsealShare.Prefix.Length..], StringComparison.Ordinal));
        using var unsealer = Unsealer(env);
        Assert.Null(unsealer.Submit(shares[4], out var p1));
        Assert.Null(unsealer.Submit(shares[1], out var p2));
        Assert.Equal((1, 2, 3, 5), (p1.Submitted, p2.Submitted, p2.Needed, p2.Shares));
        var root = unsealer.Submit(shares[2], out _);
        Assert.NotNull(root);
        using var opened = env.Open(root!);
        Assert.Equal("hello"u8.ToArray(), opened.Decrypt(blob, null, TestEnvironment.Alice).Plaintext);
    }

    [Fact]
    public void Wrong_duplicate_and_tampered_shares_are_refused_and_the_attempt_restarts()
    {
        using var env = new TestEnvironment();
        var (keys, shares) = Shamir(env);
        keys.Dispose();
        using var other = new TestEnvironment();
        var (otherKeys, foreign) = Shamir(other);
        otherKeys.Dispose();
        using var unsealer = Unsealer(env);

        Assert.Null(unsealer.Submit(shares[0], out _));
        var duplicate = Assert.Throws<KmsException>(() => unsealer.Submit(shares[0], out _));
        Assert.Equal(KmsError.InvalidShare, duplicate.Error);
        Assert.Contains("already submitted", duplicate.Message, StringComparison.Ordinal);
        Assert.Equal(0, unsealer.Progress().Submitted);

        // Another deployment's share with a valid checksum: the seal's digest refuses it.
        Assert.Null(unsealer.Submit(shares[0], out _));
        var wrong = Assert.Throws<KmsException>(() => unsealer.Submit(foreign[1], out _));
        Assert.Equal(KmsError.InvalidShare, wrong.Error);
        Assert.Equal(0, unsealer.Progress().Submitted);

        // A share forged with a valid checksum (value changed, checksum recomputed): the digest refuses it.
        using (var real = UnsealShare.Decode(shares[1]))
        {
            var value = (byte[])real.Value.Clone();
            value[0] ^= 1;
            var forged = new UnsealShare(real.Threshold, real.Index, value).Encode();
            var e = Assert.Throws<KmsException>(() => unsealer.Submit(forged, out _));
            Assert.Equal(KmsError.InvalidShare, e.Error);
            Assert.DoesNotContain(shares[2][UnsealShare.Prefix.Length..], e.Message, StringComparison.Ordinal);
        }
        // After the refusals, a full quorum still opens it.
        Assert.NotNull(SubmitAll(unsealer, shares.Take(3)));
    }

    [Fact]
    public void Failures_are_limited_per_minute()
    {
        using var env = new TestEnvironment();
        var (keys, shares) = Shamir(env);
        keys.Dispose();
        using var unsealer = Unsealer(env);
        for (var i = 0; i < RootUnsealer.MaximumFailures; i++)
            Assert.Equal(KmsError.InvalidShare, Assert.Throws<KmsException>(() => unsealer.Submit("coffre-share:nonsense", out _)).Error);
        var limited = Assert.Throws<KmsException>(() => unsealer.Submit(shares[0], out _));
        Assert.Equal(KmsError.TooManyAttempts, limited.Error);
        env.Clock.Advance(RootUnsealer.FailureWindow);
        Assert.NotNull(SubmitAll(unsealer, shares.Take(3)));
    }

    [Fact]
    public void Rekey_changes_n_and_k_old_shares_are_refused_new_ones_open_and_no_stored_key_changes()
    {
        using var env = new TestEnvironment();
        var (keys, shares) = Shamir(env);
        byte[] blob;
        IReadOnlyList<string> fresh;
        using (keys)
        {
            keys.CreateKey("k", null, TestEnvironment.Alice);
            blob = keys.Encrypt("k", "kept"u8, null, TestEnvironment.Alice);
            fresh = keys.RekeyShamir(7, 4);
        }
        Assert.Equal(7, fresh.Count);
        using var unsealer = Unsealer(env);
        Assert.Equal((4, 7), (unsealer.Progress().Needed, unsealer.Progress().Shares));
        Assert.Equal(KmsError.InvalidShare, Assert.Throws<KmsException>(() => unsealer.Submit(shares[0], out _)).Error);
        var root = SubmitAll(unsealer, fresh.Skip(3));
        Assert.NotNull(root);
        using var opened = env.Open(root!);
        Assert.Equal("kept"u8.ToArray(), opened.Decrypt(blob, null, TestEnvironment.Alice).Plaintext);
    }

    [Fact]
    public void A_passphrase_root_rekeyed_to_shares_opens_with_shares_only()
    {
        using var env = new TestEnvironment();
        IReadOnlyList<string> shares;
        using (var keys = env.Initialize())
        {
            keys.CreateKey("k", null, TestEnvironment.Alice);
            shares = keys.RekeyShamir(3, 2);
        }
        var e = Assert.Throws<KmsException>(() => env.Open());
        Assert.Equal(KmsError.InvalidArgument, e.Error);
        using var unsealer = Unsealer(env);
        using var opened = env.Open(SubmitAll(unsealer, [shares[2], shares[0]])!);
        Assert.Equal("k", opened.DescribeKey("k", TestEnvironment.Alice).Name);
    }

    [Fact]
    public async Task Sealed_key_manager_refuses_every_key_use_zeroes_cached_material_and_unseals_again()
    {
        using var env = new TestEnvironment();
        using var keys = env.Initialize();
        keys.CreateKey("k", null, TestEnvironment.Alice);
        var blob = keys.Encrypt("k", "x"u8, null, TestEnvironment.Alice);
        var (lease, zeroed) = keys.HoldMaterialForTests("k", 1);
        Assert.True(await keys.SealAsync(TestEnvironment.Alice));
        Assert.True(keys.IsSealed);
        // In use when sealed: zeroed when its operation ends, not under it.
        Assert.False(zeroed());
        lease.Dispose();
        Assert.True(zeroed());

        Assert.Equal(KmsError.Sealed, Assert.Throws<KmsException>(() => keys.Decrypt(blob, null, TestEnvironment.Alice)).Error);
        Assert.Equal(KmsError.Sealed, Assert.Throws<KmsException>(() => keys.Encrypt("k", "x"u8, null, TestEnvironment.Alice)).Error);
        Assert.Equal(KmsError.Sealed, Assert.Throws<KmsException>(() => keys.GenerateDataKey("k", null, TestEnvironment.Alice)).Error);
        Assert.Equal(KmsError.Sealed, Assert.Throws<KmsException>(() => keys.CreateKey("other", null, TestEnvironment.Alice)).Error);
        Assert.Equal(KmsError.Sealed, Assert.Throws<KmsException>(() => keys.RotateKey("k", TestEnvironment.Alice)).Error);
        // Metadata stays readable.
        Assert.Equal("k", keys.DescribeKey("k", TestEnvironment.Alice).Name);
        Assert.False(await keys.SealAsync(TestEnvironment.Alice));

        Assert.True(await keys.UnsealAsync(SealedFileRoot.Unseal(env.SealPath, TestEnvironment.Passphrase, env.Options.Seal), "officer", "passphrase"));
        Assert.Equal("x"u8.ToArray(), keys.Decrypt(blob, null, TestEnvironment.Alice).Plaintext);
        var audit = keys.ReadAudit(new Coffre.Kms.Audit.AuditFilter(), TestEnvironment.Alice).Select(r => (r.Operation, r.Result)).ToList();
        Assert.Contains(("Seal", "ok"), audit);
        Assert.Contains(("Unseal", "ok"), audit);
        Assert.Contains(("Decrypt", "Sealed"), audit);
    }

    [Fact]
    public async Task A_root_of_another_deployment_is_refused_at_unseal()
    {
        using var env = new TestEnvironment();
        using var other = new TestEnvironment();
        using var keys = env.Initialize();
        using (other.Initialize()) { }
        await keys.SealAsync(TestEnvironment.Alice);
        var e = await Assert.ThrowsAsync<KmsException>(() => keys.UnsealAsync(SealedFileRoot.Unseal(other.SealPath, TestEnvironment.Passphrase, other.Options.Seal), "officer", "passphrase"));
        Assert.Equal(KmsError.InvalidArgument, e.Error);
        Assert.True(keys.IsSealed);
    }

    [Fact]
    public void A_sealed_open_reads_the_deployment_from_the_seal_and_uses_no_key()
    {
        using var env = new TestEnvironment();
        using (var keys = env.Initialize()) keys.CreateKey("k", null, TestEnvironment.Alice);
        using var sealedKeys = env.OpenSealed();
        Assert.True(sealedKeys.IsSealed);
        Assert.Equal(KmsError.Sealed, Assert.Throws<KmsException>(() => sealedKeys.GenerateDataKey("k", null, TestEnvironment.Alice)).Error);
    }
}
