using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using static Coffre.Kms.Tests.TestEnvironment;

namespace Coffre.Kms.Tests;

public class LifecycleTests
{
    private static AuditRecord Last(KeyManager m, string operation) =>
        m.ReadAudit(new AuditFilter { Operation = operation }, "auditor").Last();

    [Fact]
    public void Create_list_describe_with_audit()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        var key = m.CreateKey("finance", "Finance department", Alice, Ctx(("team", "fin")));
        Assert.True(KeyNames.IsKeyId(key.Id));
        Assert.Equal(KeyState.Enabled, key.State);
        Assert.Equal(1, key.PrimaryVersion);
        Assert.Single(key.Versions);
        Assert.Equal("fin", key.Tags["team"]);
        Assert.Equal(env.Clock.GetUtcNow(), key.Created);

        m.CreateKey("health-records", null, Alice);
        Assert.Equal(["finance", "health-records"], m.ListKeys(Alice).Select(k => k.Name));
        Assert.Equal(key.Id, m.DescribeKey("finance", Alice).Id);
        Assert.Equal("finance", m.DescribeKey(key.Id, Alice).Name);
        Assert.Equal("finance", m.DescribeKey(key.Id.ToUpperInvariant(), Alice).Name);

        var created = Last(m, "CreateKey");
        Assert.Equal(Alice, created.Principal);
        Assert.Equal("health-records", created.KeyName);
        Assert.Equal("ok", created.Result);
        var first = m.ReadAudit(new AuditFilter { Key = "finance", Operation = "CreateKey" }, "auditor").Single();
        Assert.Equal(key.Id, first.KeyId);
        Assert.Equal(1, first.KeyVersion);
        Assert.Equal(env.Clock.GetUtcNow(), first.Time);
        Assert.Equal("ok", Last(m, "DescribeKey").Result);
        Assert.Equal(Alice, Last(m, "ListKeys").Principal);
    }

    [Fact]
    public void Names_are_validated_and_unique()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("a", null, Alice);
        Assert.Equal(KmsError.AlreadyExists, Assert.Throws<KmsException>(() => m.CreateKey("a", null, Alice)).Error);
        foreach (var bad in new[] { "", "-x", "has space", "alias/x", new string('a', 129), Guid.NewGuid().ToString(), "é" })
            Assert.Equal(KmsError.InvalidName, Assert.Throws<KmsException>(() => m.CreateKey(bad, null, Alice)).Error);
        m.CreateKey("team/finance.v2_x-y", null, Alice);
        Assert.Equal(KmsError.NotFound, Assert.Throws<KmsException>(() => m.DescribeKey("nope", Alice)).Error);
        var refused = Last(m, "DescribeKey");
        Assert.Equal("NotFound", refused.Result);
        Assert.Equal("nope", refused.KeyName);
        Assert.Equal("AlreadyExists", m.ReadAudit(new AuditFilter { Operation = "CreateKey" }, "auditor")[1].Result);
        Assert.Equal(KmsError.InvalidArgument, Assert.Throws<KmsException>(() => m.CreateKey("b", null, " ")).Error);
    }

    [Fact]
    public void Rotate_makes_a_new_primary_version()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        env.Clock.Advance(TimeSpan.FromHours(1));
        var info = m.RotateKey("k", Alice);
        Assert.Equal(2, info.PrimaryVersion);
        Assert.Equal([1, 2], info.Versions.Select(v => v.Version));
        var rec = Last(m, "RotateKey");
        Assert.Equal(2, rec.KeyVersion);
        Assert.Equal(info.Id, rec.KeyId);
        using var dk = m.GenerateDataKey("k", null, Alice);
        Assert.Equal(2, dk.Wrapped.KeyVersion);
    }

    [Fact]
    public void Disable_and_enable()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        using var dk = m.GenerateDataKey("k", null, Alice);
        Assert.Equal(KeyState.Disabled, m.DisableKey("k", Alice).State);
        var e = Assert.Throws<KmsException>(() => m.GenerateDataKey("k", null, Alice));
        Assert.Equal(KmsError.Disabled, e.Error);
        Assert.Contains("'k'", e.Message);
        Assert.Contains("enable", e.Message);
        Assert.Equal(KmsError.Disabled, Assert.Throws<KmsException>(() => m.UnwrapDataKey(dk.Wrapped, null, Alice)).Error);
        Assert.Equal(KmsError.Disabled, Assert.Throws<KmsException>(() => m.RotateKey("k", Alice)).Error);
        Assert.Equal("Disabled", Last(m, "GenerateDataKey").Result);
        Assert.Equal("ok", Last(m, "DisableKey").Result);
        Assert.Equal(KeyState.Enabled, m.EnableKey("k", Alice).State);
        Assert.Equal(dk.Plaintext.ToArray(), m.UnwrapDataKey(dk.Wrapped, null, Alice));
        Assert.Equal("ok", Last(m, "EnableKey").Result);
    }

    [Fact]
    public void Schedule_cancel_and_destroy_when_due()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        m.DisableKey("k", Alice);
        Assert.Equal(KmsError.InvalidArgument,
            Assert.Throws<KmsException>(() => m.ScheduleDestruction("k", TimeSpan.FromHours(1), Alice)).Error);

        var pending = m.ScheduleDestruction("k", null, Alice);
        Assert.Equal(KeyState.PendingDestruction, pending.State);
        Assert.Equal(env.Clock.GetUtcNow() + TimeSpan.FromDays(7), pending.DestructionDate);
        Assert.Equal(KmsError.PendingDestruction, Assert.Throws<KmsException>(() => m.GenerateDataKey("k", null, Alice)).Error);
        Assert.Equal(KmsError.PendingDestruction, Assert.Throws<KmsException>(() => m.EnableKey("k", Alice)).Error);

        var cancelled = m.CancelDestruction("k", Alice);
        Assert.Equal(KeyState.Disabled, cancelled.State); // back to the state it had
        Assert.Null(cancelled.DestructionDate);
        m.EnableKey("k", Alice);

        m.ScheduleDestruction("k", TimeSpan.FromDays(2), Alice);
        env.Clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(0, m.DestroyDueKeys("scheduler"));
        env.Clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(1, m.DestroyDueKeys("scheduler"));
        var destroyed = m.DescribeKey("k", Alice);
        Assert.Equal(KeyState.Destroyed, destroyed.State);
        Assert.All(destroyed.Versions, v => Assert.Equal(KeyVersionState.Destroyed, v.State));
        Assert.Equal(KmsError.Destroyed, Assert.Throws<KmsException>(() => m.CancelDestruction("k", Alice)).Error);
        Assert.Equal(KmsError.Destroyed, Assert.Throws<KmsException>(() => m.GenerateDataKey("k", null, Alice)).Error);

        var rec = Last(m, "DestroyKey");
        Assert.Equal("scheduler", rec.Principal);
        Assert.Equal("k", rec.KeyName);
        Assert.Equal("ok", Last(m, "ScheduleDestruction").Result);
        Assert.Equal(["ok", "Destroyed"], m.ReadAudit(new AuditFilter { Operation = "CancelDestruction" }, "auditor").Select(r => r.Result));
        Assert.Equal(["PendingDestruction", "ok"], m.ReadAudit(new AuditFilter { Operation = "EnableKey" }, "auditor").Select(r => r.Result));
    }

    [Fact]
    public void Open_destroys_due_keys()
    {
        using var env = new TestEnvironment();
        using (var m = env.Initialize())
        {
            m.CreateKey("k", null, Alice);
            m.ScheduleDestruction("k", TimeSpan.FromDays(1), Alice);
        }
        env.Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1));
        var again = env.Open();
        Assert.Equal(KeyState.Destroyed, again.DescribeKey("k", Alice).State);
        Assert.Equal(KeyManager.SystemPrincipal, Last(again, "DestroyKey").Principal);
    }

    [Fact]
    public void Short_destruction_delay_only_with_the_test_option()
    {
        using var env = new TestEnvironment(KmsOptions.InsecureForTests with { AllowShortDestructionDelayForTests = true });
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        m.ScheduleDestruction("k", TimeSpan.FromMinutes(1), Alice);
        env.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, m.DestroyDueKeys("scheduler"));
    }

    [Fact]
    public void Rotation_policy_and_due_rotation()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        m.CreateKey("other", null, Alice);
        var info = m.SetRotationPolicy("k", TimeSpan.FromDays(30), Alice);
        Assert.Equal(TimeSpan.FromDays(30), info.RotationPeriod);
        Assert.Equal(env.Clock.GetUtcNow() + TimeSpan.FromDays(30), info.NextRotation);
        Assert.Equal(0, m.RotateDueKeys("scheduler"));
        env.Clock.Advance(TimeSpan.FromDays(30));
        Assert.Equal(1, m.RotateDueKeys("scheduler"));
        var rotated = m.DescribeKey("k", Alice);
        Assert.Equal(2, rotated.PrimaryVersion);
        Assert.Equal(env.Clock.GetUtcNow() + TimeSpan.FromDays(30), rotated.NextRotation);
        Assert.Equal(1, m.DescribeKey("other", Alice).PrimaryVersion);
        Assert.Equal("scheduler", Last(m, "RotateKey").Principal);
        Assert.Null(m.SetRotationPolicy("k", null, Alice).NextRotation);
        Assert.Equal(KmsError.InvalidArgument, Assert.Throws<KmsException>(() => m.SetRotationPolicy("k", TimeSpan.FromHours(1), Alice)).Error);
    }

    [Fact]
    public void Aliases()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        var a = m.CreateKey("a", null, Alice);
        var b = m.CreateKey("b", null, Alice);
        m.CreateAlias("alias/current", "a", Alice);
        Assert.Equal(a.Id, m.DescribeKey("alias/current", Alice).Id);
        Assert.Equal(["alias/current"], m.DescribeKey("a", Alice).Aliases);
        Assert.Equal(KmsError.AlreadyExists, Assert.Throws<KmsException>(() => m.CreateAlias("alias/current", "b", Alice)).Error);
        Assert.Equal(KmsError.InvalidName, Assert.Throws<KmsException>(() => m.CreateAlias("current", "b", Alice)).Error);

        using var dk = m.GenerateDataKey("alias/current", null, Alice);
        Assert.Equal(a.Id, dk.Wrapped.KeyId);
        m.UpdateAlias("alias/current", b.Id, Alice);
        Assert.Equal(b.Id, m.DescribeKey("alias/current", Alice).Id);
        Assert.Equal(dk.Plaintext.ToArray(), m.UnwrapDataKey(dk.Wrapped, null, Alice));
        var list = m.ListAliases(Alice);
        Assert.Equal("b", Assert.Single(list).KeyName);
        m.DeleteAlias("alias/current", Alice);
        Assert.Empty(m.ListAliases(Alice));
        Assert.Equal(KmsError.NotFound, Assert.Throws<KmsException>(() => m.DescribeKey("alias/current", Alice)).Error);
        Assert.Equal(KmsError.NotFound, Assert.Throws<KmsException>(() => m.UpdateAlias("alias/current", "a", Alice)).Error);
        var rec = Last(m, "DeleteAlias");
        Assert.Equal("ok", rec.Result);
        Assert.Equal(b.Id, rec.KeyId);
        Assert.Contains("alias/current", rec.Context);
    }

    [Fact]
    public void State_changes_from_another_process_take_effect_on_the_next_operation()
    {
        using var env = new TestEnvironment();
        var a = env.Initialize();
        a.CreateKey("k", null, Alice);
        using var dk = a.GenerateDataKey("k", null, Alice);
        Assert.Equal(dk.Plaintext.ToArray(), a.UnwrapDataKey(dk.Wrapped, null, Alice)); // cached in a

        var b = env.Open();
        b.DisableKey("k", "bob");
        Assert.Equal(KmsError.Disabled, Assert.Throws<KmsException>(() => a.UnwrapDataKey(dk.Wrapped, null, Alice)).Error);
        b.EnableKey("k", "bob");
        Assert.Equal(dk.Plaintext.ToArray(), a.UnwrapDataKey(dk.Wrapped, null, Alice));
    }

    [Fact]
    public void Rotation_schedule_not_due_due_and_missed_periods_rotate_once()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        var period = TimeSpan.FromDays(90);
        m.SetRotationPolicy("k", period, Alice);

        // 89 days of a 90-day period: not due.
        env.Clock.Advance(TimeSpan.FromDays(89));
        Assert.Equal(0, m.RotateDueKeys("scheduler"));
        Assert.Equal(1, m.DescribeKey("k", Alice).PrimaryVersion);

        // Day 90: due, one rotation, the next one a full period from now.
        env.Clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(1, m.RotateDueKeys("scheduler"));
        Assert.Equal(0, m.RotateDueKeys("scheduler"));
        var info = m.DescribeKey("k", Alice);
        Assert.Equal(2, info.PrimaryVersion);
        Assert.Equal(env.Clock.GetUtcNow() + period, info.NextRotation);

        // The server was down for 300 days (three periods and more): exactly one rotation on the
        // way back, not one per missed period, and the schedule restarts from now.
        env.Clock.Advance(TimeSpan.FromDays(300));
        Assert.Equal(1, m.RotateDueKeys("scheduler"));
        Assert.Equal(0, m.RotateDueKeys("scheduler"));
        info = m.DescribeKey("k", Alice);
        Assert.Equal(3, info.PrimaryVersion);
        Assert.Equal([1, 2, 3], info.Versions.Select(v => v.Version));
        Assert.Equal(env.Clock.GetUtcNow() + period, info.NextRotation);
        Assert.Equal(2, m.ReadAudit(new AuditFilter { Operation = "RotateKey" }, "auditor").Count);

        // A disabled key is not rotated while disabled, even when due.
        m.DisableKey("k", Alice);
        env.Clock.Advance(TimeSpan.FromDays(91));
        Assert.Equal(0, m.RotateDueKeys("scheduler"));
        m.EnableKey("k", Alice);
        Assert.Equal(1, m.RotateDueKeys("scheduler"));
        Assert.Equal(4, m.DescribeKey("k", Alice).PrimaryVersion);
    }

    [Fact]
    public void Two_schedulers_on_one_data_directory_rotate_each_due_key_once()
    {
        using var env = new TestEnvironment();
        var first = env.Initialize();
        var second = env.Open(); // as a second process would: its own connections, same keys.db
        var names = Enumerable.Range(0, 20).Select(i => $"k{i}").ToList();
        foreach (var name in names)
        {
            first.CreateKey(name, null, Alice);
            first.SetRotationPolicy(name, TimeSpan.FromDays(30), Alice);
        }
        first.DisableKey("k0", Alice);
        env.Clock.Advance(TimeSpan.FromDays(30));

        // Both list the same 19 due keys; each key's rotation is decided again inside its write transaction.
        using var start = new Barrier(2);
        var counts = new int[2];
        var threads = new[] { first, second }.Select((m, i) => new Thread(() =>
        {
            start.SignalAndWait();
            counts[i] = m.RotateDueKeys("scheduler");
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.Equal(19, counts.Sum());
        Assert.Equal(1, first.DescribeKey("k0", Alice).PrimaryVersion);
        Assert.All(names.Skip(1), n => Assert.Equal(2, first.DescribeKey(n, Alice).PrimaryVersion));
        Assert.Equal(19, first.ReadAudit(new AuditFilter { Operation = "RotateKey" }, "auditor").Count);
        Assert.True(first.VerifyAudit("auditor").Ok);
    }
}
