using System.Security.Cryptography;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using static Coffre.Kms.Tests.TestEnvironment;

namespace Coffre.Kms.Tests;

/// <summary>The key manager's external operations (AES-256-GCM under a key version with the caller's AAD, parts kept apart),
/// which the XKS face uses: version chosen with the AAD, plain AES-GCM any implementation can check, audited with the
/// caller's context, refusals recorded.</summary>
public class ExternalTests
{
    private const string Context = """{"coffre:face":"xks","xks:kmsRequestId":"r1"}""";

    [Fact]
    public async Task Encrypts_under_the_primary_version_with_the_aad_built_for_it_and_decrypts_after_rotation()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        var asked = new List<int>();
        byte[] Aad(int version)
        {
            asked.Add(version);
            return [(byte)version, 0xAA];
        }
        var plaintext = "data key bytes"u8.ToArray();
        var made = await m.EncryptExternalAsync("k", plaintext, Aad, Alice, Context);
        Assert.Equal([1], asked);
        Assert.Equal((1, 12, 16, plaintext.Length), (made.KeyVersion, made.Nonce.Length, made.Tag.Length, made.Ciphertext.Length));

        // Plain AES-256-GCM with the version's material: any implementation decrypts it.
        var back = new byte[plaintext.Length];
        using (var gcm = new AesGcm(m.KeyMaterialForTests("k", 1), 16)) gcm.Decrypt(made.Nonce, made.Ciphertext, made.Tag, back, new byte[] { 1, 0xAA });
        Assert.Equal(plaintext, back);
        Assert.True(m.VerifyExternal(made, plaintext, [1, 0xAA]));
        Assert.False(m.VerifyExternal(made, "another"u8, [1, 0xAA]));

        m.RotateKey("k", Alice);
        var newer = await m.EncryptExternalAsync("k", plaintext, Aad, Alice, Context);
        Assert.Equal(2, newer.KeyVersion);
        Assert.Equal(plaintext, await m.DecryptExternalAsync("k", 1, made.Nonce, made.Ciphertext, made.Tag, new byte[] { 1, 0xAA }, Alice, Context));
        var wrongVersion = await Assert.ThrowsAsync<KmsException>(() =>
            m.DecryptExternalAsync("k", 2, made.Nonce, made.Ciphertext, made.Tag, new byte[] { 1, 0xAA }, Alice, Context));
        Assert.Equal(KmsError.InvalidCiphertext, wrongVersion.Error);
        var unknownVersion = await Assert.ThrowsAsync<KmsException>(() =>
            m.DecryptExternalAsync("k", 9, made.Nonce, made.Ciphertext, made.Tag, new byte[] { 9, 0xAA }, Alice, Context));
        Assert.Equal(KmsError.InvalidCiphertext, unknownVersion.Error);

        var records = m.ReadAudit(new AuditFilter { Context = new Dictionary<string, string> { ["coffre:face"] = "xks" } }, Alice);
        Assert.Equal(["ExternalEncrypt/ok", "ExternalEncrypt/ok", "ExternalDecrypt/ok", "ExternalDecrypt/InvalidCiphertext", "ExternalDecrypt/InvalidCiphertext"],
            records.Select(r => r.Operation + "/" + r.Result));
        Assert.All(records, r => Assert.Equal(Context, r.Context));
    }

    [Fact]
    public async Task A_disabled_key_is_refused_and_described_as_disabled()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        var made = await m.EncryptExternalAsync("k", new byte[32], _ => [], Alice, Context);
        m.DisableKey("k", Alice);
        Assert.Equal(KmsError.Disabled, (await Assert.ThrowsAsync<KmsException>(() => m.EncryptExternalAsync("k", new byte[32], _ => [], Alice, Context))).Error);
        Assert.Equal(KmsError.Disabled, (await Assert.ThrowsAsync<KmsException>(() =>
            m.DecryptExternalAsync("k", 1, made.Nonce, made.Ciphertext, made.Tag, Array.Empty<byte>(), Alice, Context))).Error);
        Assert.Equal(KeyState.Disabled, (await m.DescribeExternalKeyAsync("k", Alice, Context)).State);
        Assert.Equal(KeyState.Disabled, m.TryKeyState("k"));
        Assert.Null(m.TryKeyState("missing"));
    }
}
