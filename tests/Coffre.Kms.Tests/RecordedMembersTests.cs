using Coffre.Kms.Audit;
using static Coffre.Kms.Tests.TestEnvironment;

namespace Coffre.Kms.Tests;

/// <summary>Audit-only members (a face's name, a caller's reason): in the record beside the context, never bound to the ciphertext.</summary>
public class RecordedMembersTests
{
    [Fact]
    public async Task Recorded_members_are_in_the_audit_record_but_not_bound_to_the_ciphertext()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        var context = Ctx(("resource", "doc-1"));
        var blob = await m.EncryptAsync("k", "data key"u8.ToArray(), context, Alice, Ctx(("coffre:face", "cse"), ("cse:reason", "update")));
        // Decrypted with other recorded members: they are not part of the AEAD's associated data.
        var plain = await m.DecryptAsync(blob, context, Alice, "k", Ctx(("coffre:face", "cse"), ("cse:reason", "read")));
        Assert.Equal("data key"u8.ToArray(), plain.Plaintext);
        var records = m.ReadAudit(new AuditFilter { Context = Ctx(("coffre:face", "cse")) }, Alice);
        Assert.Equal(["Encrypt", "Decrypt"], records.Select(r => r.Operation));
        Assert.Equal("""{"coffre:face":"cse","cse:reason":"read","resource":"doc-1"}""", records[1].Context);
    }

    [Fact]
    public async Task A_recorded_member_may_not_shadow_a_context_member()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        var e = await Assert.ThrowsAsync<KmsException>(() => m.EncryptAsync("k", new byte[4], Ctx(("resource", "doc-1")), Alice, Ctx(("resource", "doc-2"))));
        Assert.Equal(KmsError.InvalidArgument, e.Error);
    }
}
