using Coffre.Crypto;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using static Coffre.Kms.Tests.TestEnvironment;

namespace Coffre.Kms.Tests;

public class DataKeyTests
{
    private static readonly IReadOnlyDictionary<string, string> Object1 = Ctx(("bucket", "b1"), ("key", "photos/cat.jpg"));

    [Fact]
    public void Generate_unwrap_rewrap()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        var key = m.CreateKey("k", null, Alice);
        using var dk = m.GenerateDataKey("k", Object1, Alice);
        Assert.Equal(32, dk.Plaintext.Length);
        Assert.Equal(KeyWrap.WrappedSize, dk.Wrapped.Blob.Length);
        Assert.Equal(key.Id, dk.Wrapped.KeyId);
        Assert.Equal(1, dk.Wrapped.KeyVersion);
        Assert.Equal(dk.Plaintext.ToArray(), m.UnwrapDataKey(dk.Wrapped, Object1, Alice));
        // Order of the dictionary does not matter (canonical encoding).
        Assert.Equal(dk.Plaintext.ToArray(), m.UnwrapDataKey(dk.Wrapped, Ctx(("key", "photos/cat.jpg"), ("bucket", "b1")), Alice));

        m.RotateKey("k", Alice);
        var rewrapped = m.RewrapDataKey(dk.Wrapped, Object1, Alice);
        Assert.Equal(2, rewrapped.KeyVersion);
        Assert.Equal(dk.Plaintext.ToArray(), m.UnwrapDataKey(rewrapped, Object1, Alice));

        var gen = m.ReadAudit(new AuditFilter { Operation = "GenerateDataKey" }, "auditor").Single();
        Assert.Equal(key.Id, gen.KeyId);
        Assert.Equal("k", gen.KeyName);
        Assert.Equal(1, gen.KeyVersion);
        Assert.Equal("""{"bucket":"b1","key":"photos/cat.jpg"}""", gen.Context);
        Assert.Equal(Alice, gen.Principal);
        Assert.Equal(2, m.ReadAudit(new AuditFilter { Operation = "RewrapDataKey.Wrap" }, "auditor").Single().KeyVersion);
        Assert.Equal(1, m.ReadAudit(new AuditFilter { Operation = "RewrapDataKey.Unwrap" }, "auditor").Single().KeyVersion);
        Assert.Equal(3, m.ReadAudit(new AuditFilter { Operation = "UnwrapDataKey" }, "auditor").Count);
    }

    [Fact]
    public void Wrapped_key_matches_the_documented_wrap_with_canonical_context()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        using var dk = m.GenerateDataKey("k", Object1, Alice);
        var kek = m.KeyMaterialForTests("k", 1);
        // u32(2) || lp("bucket") lp("b1") || lp("key") lp("photos/cat.jpg")
        byte[] expected = [0, 0, 0, 2, 0, 0, 0, 6, .. "bucket"u8, 0, 0, 0, 2, .. "b1"u8, 0, 0, 0, 3, .. "key"u8, 0, 0, 0, 14, .. "photos/cat.jpg"u8];
        Assert.Equal(expected, EncryptionContext.Canonical(Object1));
        var dek = new byte[32];
        KeyWrap.Unwrap(kek, dk.Wrapped.Blob, dk.Wrapped.KeyId, 1, expected, dek);
        Assert.Equal(dk.Plaintext.ToArray(), dek);
        Assert.Equal([0, 0, 0, 0], EncryptionContext.Canonical(null));
    }

    [Fact]
    public void Wrong_context_or_tampered_blob_is_invalid_ciphertext()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        using var dk = m.GenerateDataKey("k", Object1, Alice);
        var e = Assert.Throws<KmsException>(() => m.UnwrapDataKey(dk.Wrapped, Ctx(("bucket", "b1"), ("key", "photos/dog.jpg")), Alice));
        Assert.Equal(KmsError.InvalidCiphertext, e.Error);
        Assert.Equal(KmsError.InvalidCiphertext, Assert.Throws<KmsException>(() => m.UnwrapDataKey(dk.Wrapped, null, Alice)).Error);
        for (var i = 0; i < dk.Wrapped.Blob.Length; i += 7)
        {
            var blob = (byte[])dk.Wrapped.Blob.Clone();
            blob[i] ^= 0x01;
            Assert.Equal(KmsError.InvalidCiphertext,
                Assert.Throws<KmsException>(() => m.UnwrapDataKey(dk.Wrapped with { Blob = blob }, Object1, Alice)).Error);
        }
        Assert.Equal(KmsError.InvalidCiphertext,
            Assert.Throws<KmsException>(() => m.UnwrapDataKey(dk.Wrapped with { Blob = dk.Wrapped.Blob[..60] }, Object1, Alice)).Error);
        // Presented as another version of the same key.
        m.RotateKey("k", Alice);
        Assert.Equal(KmsError.InvalidCiphertext,
            Assert.Throws<KmsException>(() => m.UnwrapDataKey(dk.Wrapped with { KeyVersion = 2 }, Object1, Alice)).Error);
        var refused = m.ReadAudit(new AuditFilter { Operation = "UnwrapDataKey" }, "auditor");
        Assert.All(refused, r => Assert.Equal("InvalidCiphertext", r.Result));
    }

    [Fact]
    public void Disabled_key_and_disabled_version_are_refused()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        using var dk = m.GenerateDataKey("k", Object1, Alice);
        m.DisableKey("k", Alice);
        Assert.Equal(KmsError.Disabled, Assert.Throws<KmsException>(() => m.UnwrapDataKey(dk.Wrapped, Object1, Alice)).Error);
        Assert.Equal(KmsError.Disabled, Assert.Throws<KmsException>(() => m.RewrapDataKey(dk.Wrapped, Object1, Alice)).Error);
        m.EnableKey("k", Alice);
        m.RotateKey("k", Alice);
        m.DisableKeyVersion("k", 1, Alice);
        Assert.Equal(KmsError.VersionNotUsable, Assert.Throws<KmsException>(() => m.UnwrapDataKey(dk.Wrapped, Object1, Alice)).Error);
        m.EnableKeyVersion("k", 1, Alice);
        Assert.Equal(dk.Plaintext.ToArray(), m.UnwrapDataKey(dk.Wrapped, Object1, Alice));
    }

    [Fact]
    public void Destroyed_key_is_refused_in_a_second_instance_on_the_same_files()
    {
        using var env = new TestEnvironment();
        var first = env.Initialize();
        first.CreateKey("k", null, Alice);
        using var dk = first.GenerateDataKey("k", Object1, Alice);
        Assert.Equal(dk.Plaintext.ToArray(), first.UnwrapDataKey(dk.Wrapped, Object1, Alice)); // material cached in first

        var second = env.Open();
        second.ScheduleDestruction("k", TimeSpan.FromDays(1), "bob");
        env.Clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(1, second.DestroyDueKeys("scheduler"));

        var e = Assert.Throws<KmsException>(() => first.UnwrapDataKey(dk.Wrapped, Object1, Alice));
        Assert.Equal(KmsError.Destroyed, e.Error);
        Assert.Equal(KmsError.Destroyed, Assert.Throws<KmsException>(() => second.UnwrapDataKey(dk.Wrapped, Object1, Alice)).Error);
        var third = env.Open();
        Assert.Equal(KmsError.Destroyed, Assert.Throws<KmsException>(() => third.UnwrapDataKey(dk.Wrapped, Object1, Alice)).Error);
    }

    [Fact]
    public void Old_versions_unwrap_after_rotation_until_the_minimum_decryption_version_rises()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        using var v1 = m.GenerateDataKey("k", Object1, Alice);
        m.RotateKey("k", Alice);
        using var v2 = m.GenerateDataKey("k", Object1, Alice);
        m.RotateKey("k", Alice);
        Assert.Equal(v1.Plaintext.ToArray(), m.UnwrapDataKey(v1.Wrapped, Object1, Alice));
        Assert.Equal(v2.Plaintext.ToArray(), m.UnwrapDataKey(v2.Wrapped, Object1, Alice));

        Assert.Equal(2, m.SetMinimumDecryptionVersion("k", 2, Alice).MinimumDecryptionVersion);
        var e = Assert.Throws<KmsException>(() => m.UnwrapDataKey(v1.Wrapped, Object1, Alice));
        Assert.Equal(KmsError.VersionNotUsable, e.Error);
        Assert.Contains("minimum decryption version", e.Message);
        Assert.Equal(v2.Plaintext.ToArray(), m.UnwrapDataKey(v2.Wrapped, Object1, Alice));
        Assert.Equal(KmsError.InvalidArgument, Assert.Throws<KmsException>(() => m.SetMinimumDecryptionVersion("k", 4, Alice)).Error);
        Assert.Equal(KmsError.VersionNotUsable,
            Assert.Throws<KmsException>(() => m.UnwrapDataKey(v2.Wrapped with { KeyVersion = 9 }, Object1, Alice)).Error);
    }

    [Fact]
    public void Unknown_key_id_is_not_found()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        using var dk = m.GenerateDataKey("k", null, Alice);
        Assert.Equal(KmsError.NotFound,
            Assert.Throws<KmsException>(() => m.UnwrapDataKey(dk.Wrapped with { KeyId = Guid.NewGuid().ToString() }, null, Alice)).Error);
        Assert.Equal(KmsError.InvalidArgument,
            Assert.Throws<KmsException>(() => m.UnwrapDataKey(dk.Wrapped with { KeyId = "k" }, null, Alice)).Error);
    }
}
