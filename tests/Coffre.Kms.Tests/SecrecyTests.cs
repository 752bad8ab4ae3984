using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using static Coffre.Kms.Tests.TestEnvironment;

namespace Coffre.Kms.Tests;

public class SecrecyTests
{
    [Fact]
    public void Key_material_is_never_stored_in_clear()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        m.RotateKey("k", Alice);
        using var dk = m.GenerateDataKey("k", Ctx(("a", "b")), Alice);
        var v1 = m.KeyMaterialForTests("k", 1);
        var v2 = m.KeyMaterialForTests("k", 2);
        var bytes = env.StoreBytes();
        Assert.True(bytes.Length > 4096);
        Assert.False(Contains(bytes, v1));
        Assert.False(Contains(bytes, v2));
        Assert.False(Contains(bytes, dk.Plaintext.ToArray()));
        Assert.False(Contains(File.ReadAllBytes(env.SealPath), v1));
        // Sanity: the scan does find what is stored (the wrapped data key is not stored, but the audit context is).
        Assert.True(Contains(bytes, "\"a\":\"b\""u8.ToArray()));
    }

    [Fact]
    public void Material_of_a_replaced_snapshot_is_zeroed_in_memory_once_no_operation_uses_it()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        var (lease, zeroed) = m.HoldMaterialForTests("k", 1);
        // Any key-state change moves the store's generation; the next operation replaces the snapshot.
        m.CreateKey("other", null, Alice);
        var blob = m.Encrypt("k", "payload"u8, null, Alice);
        // Still held by an operation: zeroing it now would let that operation wrap under an all-zero key.
        Assert.False(zeroed());
        lease.Dispose();
        Assert.True(zeroed());
        Assert.Equal("payload"u8.ToArray(), m.Decrypt(blob, null, Alice).Plaintext);

        // Material of the current snapshot that no operation holds is zeroed as soon as the snapshot is replaced.
        var (idle, idleZeroed) = m.HoldMaterialForTests("k", 1);
        idle.Dispose();
        Assert.False(idleZeroed());
        m.CreateKey("third", null, Alice);
        m.Encrypt("k", "x"u8, null, Alice);
        Assert.True(idleZeroed());
    }

    [Fact]
    public void Destroyed_material_is_erased_from_the_files()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        var key = m.CreateKey("k", null, Alice);
        m.CreateKey("keep", null, Alice);
        byte[] wrapped;
        wrapped = env.Deployment.Database.Keys.ListVersions(key.Id).Single().WrappedMaterial!;
        Assert.True(Contains(env.StoreBytes(), wrapped));
        m.ScheduleDestruction("k", TimeSpan.FromDays(1), Alice);
        env.Clock.Advance(TimeSpan.FromDays(1));
        m.DestroyDueKeys("scheduler");
        Assert.False(Contains(env.StoreBytes(), wrapped));
    }

    [Fact]
    public void Secrets_do_not_appear_in_text()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        using var dk = m.GenerateDataKey("k", null, Alice);
        var hex = Convert.ToHexString(dk.Plaintext);
        var b64 = Convert.ToBase64String(dk.Plaintext);
        foreach (var text in new[] { dk.ToString(), dk.Wrapped.ToString(), m.ToString() })
        {
            Assert.DoesNotContain(hex, text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(b64, text);
        }
        foreach (var r in m.ReadAudit(AuditFilter.All, "auditor"))
            Assert.DoesNotContain(b64, r.ToString() + r.Context);
        Assert.DoesNotContain(Passphrase, File.ReadAllText(env.SealPath));
    }
}
