using Coffre.Kms.Keys;
using static Coffre.Kms.Tests.TestEnvironment;

namespace Coffre.Kms.Tests;

public class EncryptTests
{
    private static readonly IReadOnlyDictionary<string, string> Ctx1 = Ctx(("purpose", "db-password"));

    [Fact]
    public void Round_trip_and_documented_layout()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        var key = m.CreateKey("k", null, Alice);
        var plaintext = "s3cr3t value"u8.ToArray();
        var blob = m.Encrypt("k", plaintext, Ctx1, Alice);
        Assert.Equal("CFRK"u8.ToArray(), blob[..4]);
        Assert.Equal(1, blob[4]);
        Assert.Equal(36, (blob[5] << 8) | blob[6]);
        Assert.Equal(key.Id, System.Text.Encoding.UTF8.GetString(blob, 7, 36));
        Assert.Equal([0, 0, 0, 1], blob[43..47]);
        Assert.Equal(47 + 12 + plaintext.Length + 16, blob.Length);
        var result = m.Decrypt(blob, Ctx1, "bob");
        Assert.Equal(plaintext, result.Plaintext);
        Assert.Equal(key.Id, result.KeyId);
        Assert.Equal(1, result.KeyVersion);
        Assert.DoesNotContain("s3cr3t", result.ToString());

        // Independent decryption from docs/format.md §7.
        var kek = m.KeyMaterialForTests("k", 1);
        using var gcm = new System.Security.Cryptography.AesGcm(kek, 16);
        var back = new byte[plaintext.Length];
        gcm.Decrypt(blob.AsSpan(47, 12), blob.AsSpan(59, plaintext.Length), blob.AsSpan(^16), back, [.. blob[..47], .. EncryptionContext.Canonical(Ctx1)]);
        Assert.Equal(plaintext, back);

        m.RotateKey("k", Alice);
        Assert.Equal(plaintext, m.Decrypt(blob, Ctx1, Alice).Plaintext);
        var other = m.CreateKey("other", null, Alice);
        var moved = m.ReEncrypt(blob, Ctx1, "other", null, Alice);
        var r2 = m.Decrypt(moved, null, Alice);
        Assert.Equal(plaintext, r2.Plaintext);
        Assert.Equal(other.Id, r2.KeyId);
        Assert.Empty(m.Encrypt("k", [], null, Alice)[..0]);
        Assert.Empty(m.Decrypt(m.Encrypt("k", [], null, Alice), null, Alice).Plaintext);
    }

    [Fact]
    public void Wrong_context_and_tampering_are_invalid_ciphertext()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        var blob = m.Encrypt("k", new byte[100], Ctx1, Alice);
        Assert.Equal(KmsError.InvalidCiphertext, Assert.Throws<KmsException>(() => m.Decrypt(blob, Ctx(("purpose", "other")), Alice)).Error);
        Assert.Equal(KmsError.InvalidCiphertext, Assert.Throws<KmsException>(() => m.Decrypt(blob, null, Alice)).Error);
        foreach (var i in new[] { 0, 4, 6, 47, 60, blob.Length - 1 })
        {
            var t = (byte[])blob.Clone();
            t[i] ^= 0x80;
            var e = Assert.Throws<KmsException>(() => m.Decrypt(t, Ctx1, Alice));
            Assert.True(e.Error is KmsError.InvalidCiphertext, $"byte {i}: {e.Error}");
        }
        // Version field changed: names version 2 which does not exist yet (an altered header, not a key in the wrong
        // state), then one that does.
        var v = (byte[])blob.Clone();
        v[46] = 2;
        Assert.Equal(KmsError.InvalidCiphertext, Assert.Throws<KmsException>(() => m.Decrypt(v, Ctx1, Alice)).Error);
        m.RotateKey("k", Alice);
        Assert.Equal(KmsError.InvalidCiphertext, Assert.Throws<KmsException>(() => m.Decrypt(v, Ctx1, Alice)).Error);
        Assert.Equal(KmsError.InvalidCiphertext, Assert.Throws<KmsException>(() => m.Decrypt(blob[..30], Ctx1, Alice)).Error);
    }

    [Fact]
    public void At_most_4096_bytes()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        Assert.Equal(4096, m.Decrypt(m.Encrypt("k", new byte[4096], null, Alice), null, Alice).Plaintext.Length);
        var e = Assert.Throws<KmsException>(() => m.Encrypt("k", new byte[4097], null, Alice));
        Assert.Equal(KmsError.InvalidArgument, e.Error);
        Assert.Equal("InvalidArgument", m.ReadAudit(new Audit.AuditFilter { Operation = "Encrypt" }, "auditor").Last().Result);
    }

    [Fact]
    public void Disabled_key_cannot_encrypt_or_decrypt()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        var blob = m.Encrypt("k", new byte[10], null, Alice);
        m.DisableKey("k", Alice);
        Assert.Equal(KmsError.Disabled, Assert.Throws<KmsException>(() => m.Encrypt("k", new byte[10], null, Alice)).Error);
        Assert.Equal(KmsError.Disabled, Assert.Throws<KmsException>(() => m.Decrypt(blob, null, Alice)).Error);
    }
}
