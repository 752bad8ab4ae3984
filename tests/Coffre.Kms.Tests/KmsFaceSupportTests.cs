using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using static Coffre.Kms.Tests.TestEnvironment;

namespace Coffre.Kms.Tests;

/// <summary>The small KeyManager additions the AWS KMS face uses.</summary>
public class KmsFaceSupportTests
{
    private static readonly IReadOnlyDictionary<string, string> Ctx1 = Ctx(("purpose", "x"));

    [Fact]
    public void GenerateDataKeyCiphertext_decrypts_with_Decrypt_and_is_audited_under_its_operation()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        var key = m.CreateKey("k", null, Alice);
        var dk = m.GenerateDataKeyCiphertext("k", 16, Ctx1, Alice, "GenerateDataKeyWithoutPlaintext");
        Assert.Equal(16, dk.Plaintext.Length);
        Assert.Equal(dk.Plaintext, m.Decrypt(dk.CiphertextBlob, Ctx1, Alice).Plaintext);
        Assert.Throws<KmsException>(() => m.GenerateDataKeyCiphertext("k", 0, null, Alice));
        var audit = m.ReadAudit(new AuditFilter { Key = key.Id }, Alice);
        Assert.Contains(audit, a => a.Operation == "GenerateDataKeyWithoutPlaintext" && a.Result == "ok");
        Assert.Equal(8, m.GenerateRandom(8, Alice).Length);
    }

    [Fact]
    public void Decrypt_with_an_expected_key_refuses_another_key()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("a", null, Alice);
        m.CreateKey("b", null, Alice);
        m.CreateAlias("alias/a", "a", Alice);
        var blob = m.Encrypt("a", [1, 2], null, Alice);
        Assert.Equal([1, 2], m.Decrypt(blob, null, Alice, expectedKeyRef: "alias/a").Plaintext);
        var e = Assert.Throws<KmsException>(() => m.Decrypt(blob, null, Alice, expectedKeyRef: "b"));
        Assert.Equal(KmsError.IncorrectKey, e.Error);
        Assert.Contains(m.ReadAudit(new AuditFilter { Operation = "Decrypt" }, Alice), a => a.Result == "IncorrectKey");
    }

    [Fact]
    public void Tags_denials_and_key_resolution()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        var key = m.CreateKey("k", null, Alice, new Dictionary<string, string> { ["a"] = "1" });
        m.TagKey("k", new Dictionary<string, string> { ["b"] = "2" }, Alice);
        m.UntagKey("k", ["a"], Alice);
        Assert.Equal("b=2", string.Join(",", m.DescribeKey("k", Alice).Tags.Select(t => $"{t.Key}={t.Value}")));

        m.CreateAlias("alias/k", "k", Alice);
        Assert.Equal(key.Id, m.TryResolveKeyId("alias/k"));
        Assert.Equal(key.Id, m.TryResolveKeyId("k"));
        Assert.Null(m.TryResolveKeyId("nope"));

        var denied = m.RecordDenied("Decrypt", "alias/k", "app", "not allowed");
        Assert.Equal(KmsError.AccessDenied, denied.Error);
        var record = m.ReadAudit(new AuditFilter { Principal = "app" }, Alice).Single();
        Assert.Equal(("Decrypt", "AccessDenied", key.Id), (record.Operation, record.Result, record.KeyId));
        Assert.True(m.VerifyAudit(Alice).Ok);
    }

    [Fact]
    public void Relaxed_audit_durability_is_opt_in_and_keeps_the_chain()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        Assert.False(m.AuditSynchronousNormal);
        m.AuditSynchronousNormal = true;
        m.CreateKey("k", null, Alice);
        for (var i = 0; i < 10; i++) m.Decrypt(m.Encrypt("k", [1], null, Alice), null, Alice);
        Assert.True(m.VerifyAudit(Alice).Ok);
        Assert.Equal(20, m.ReadAudit(new AuditFilter { Key = "k" }, Alice).Count(a => a.Operation is "Encrypt" or "Decrypt"));
    }
}
