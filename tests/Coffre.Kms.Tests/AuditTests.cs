using System.Collections.Concurrent;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using static Coffre.Kms.Tests.TestEnvironment;

namespace Coffre.Kms.Tests;

public class AuditTests
{
    /// <summary>A manager with a few records: 1 Initialize, 2 CreateKey, 3-6 GenerateDataKey, ...</summary>
    private static KeyManager WithRecords(TestEnvironment env)
    {
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        for (var i = 0; i < 4; i++) m.GenerateDataKey("k", Ctx(("n", i.ToString())), Alice).Dispose();
        m.DisableKey("k", Alice);
        Assert.True(m.VerifyAudit("auditor").Ok);
        return m;
    }

    [Fact]
    public void Records_are_chained_and_verify()
    {
        using var env = new TestEnvironment();
        var m = WithRecords(env);
        var all = m.ReadAudit(AuditFilter.All, "auditor");
        Assert.Equal(Enumerable.Range(1, all.Count).Select(i => (long)i), all.Select(r => r.Sequence));
        Assert.Equal(new byte[32], all[0].PrevHash);
        for (var i = 1; i < all.Count; i++) Assert.Equal(all[i - 1].Hash, all[i].PrevHash);
        Assert.Equal(all[^1].Hash, AuditChain.Hash(all[^1].PrevHash, all[^1]));
        Assert.Equal("Initialize", all[0].Operation);
        var v = m.VerifyAudit("auditor");
        Assert.True(v.Ok, v.ToString());
        Assert.Equal(all.Count + 1, v.RecordsChecked); // + the ReadAudit record
    }

    [Fact]
    public void Filters()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("a", null, Alice);
        env.Clock.Advance(TimeSpan.FromHours(1));
        var t1 = env.Clock.GetUtcNow();
        m.CreateKey("b", null, "bob");
        m.GenerateDataKey("b", null, "bob").Dispose();
        Assert.Equal(2, m.ReadAudit(new AuditFilter { Key = "b" }, "auditor").Count);
        Assert.Equal(2, m.ReadAudit(new AuditFilter { Principal = "bob" }, "auditor").Count);
        Assert.Equal("CreateKey", m.ReadAudit(new AuditFilter { Principal = "bob", Limit = 1 }, "auditor").Single().Operation);
        Assert.Equal("b", m.ReadAudit(new AuditFilter { From = t1, Operation = "CreateKey" }, "auditor").Single().KeyName);
        Assert.Equal(2, m.ReadAudit(new AuditFilter { To = t1 }, "auditor").Count); // Initialize, CreateKey a
        Assert.NotEmpty(m.ReadAudit(new AuditFilter { Operation = "ReadAudit", Principal = "auditor" }, "auditor"));
    }

    [Fact]
    public void Detects_an_edited_field()
    {
        using var env = new TestEnvironment();
        var m = WithRecords(env);
        env.Sql("UPDATE audit SET principal = 'mallory' WHERE seq = 4");
        var v = m.VerifyAudit("auditor");
        Assert.False(v.Ok);
        Assert.Equal(4, v.FirstBadSequence);
        Assert.Contains("modified", v.Reason);
    }

    [Fact]
    public void Detects_an_edited_result_even_with_consistent_later_records()
    {
        using var env = new TestEnvironment();
        var m = WithRecords(env);
        env.Sql("UPDATE audit SET result = 'Disabled' WHERE seq = 3");
        Assert.Equal(3, m.VerifyAudit("auditor").FirstBadSequence);
    }

    [Fact]
    public void Detects_a_deleted_record()
    {
        using var env = new TestEnvironment();
        var m = WithRecords(env);
        env.Sql("DELETE FROM audit WHERE seq = 3");
        var v = m.VerifyAudit("auditor");
        Assert.False(v.Ok);
        Assert.Equal(3, v.FirstBadSequence);
        Assert.Contains("deleted", v.Reason);
    }

    [Fact]
    public void Detects_a_deleted_and_renumbered_record()
    {
        using var env = new TestEnvironment();
        var m = WithRecords(env);
        env.Sql("DELETE FROM audit WHERE seq = 3; UPDATE audit SET seq = seq - 1 WHERE seq > 3;");
        var v = m.VerifyAudit("auditor");
        Assert.Equal(3, v.FirstBadSequence);
    }

    [Fact]
    public void Detects_two_swapped_records()
    {
        using var env = new TestEnvironment();
        var m = WithRecords(env);
        env.Sql("""
            UPDATE audit SET seq = -3 WHERE seq = 3;
            UPDATE audit SET seq = 3 WHERE seq = 4;
            UPDATE audit SET seq = 4 WHERE seq = -3;
            """);
        var v = m.VerifyAudit("auditor");
        Assert.False(v.Ok);
        Assert.Equal(3, v.FirstBadSequence);
    }

    [Fact]
    public void Detects_an_inserted_record_even_with_a_well_formed_hash()
    {
        using var env = new TestEnvironment();
        var m = WithRecords(env);
        var two = m.ReadAudit(new AuditFilter { AfterSequence = 1, Limit = 1 }, "auditor").Single();
        var fake = AuditChain.Seal(new AuditEntry(env.Clock.GetUtcNow(), "mallory", "DescribeKey", null, "k", null, null, "ok"), 3, two.Hash);
        env.Sql($"""
            UPDATE audit SET seq = -seq WHERE seq >= 3;
            UPDATE audit SET seq = -seq + 1 WHERE seq < 0;
            INSERT INTO audit (seq, time, principal, operation, key_name, result, prev_hash, hash)
            VALUES (3, '{fake.TimeText}', 'mallory', 'DescribeKey', 'k', 'ok', X'{Convert.ToHexString(fake.PrevHash)}', X'{Convert.ToHexString(fake.Hash)}');
            """);
        var v = m.VerifyAudit("auditor");
        Assert.False(v.Ok);
        Assert.Equal(4, v.FirstBadSequence); // the fake links correctly; the record after it does not
        Assert.Contains("prev_hash", v.Reason);
    }

    [Fact]
    public void Detects_an_appended_record_with_a_bad_hash()
    {
        using var env = new TestEnvironment();
        var m = WithRecords(env);
        env.Sql("""
            INSERT INTO audit (seq, time, principal, operation, result, prev_hash, hash)
            SELECT seq + 1, time, 'mallory', 'ListKeys', 'ok', hash, zeroblob(32) FROM audit ORDER BY seq DESC LIMIT 1
            """);
        var v = m.VerifyAudit("auditor");
        Assert.False(v.Ok);
        Assert.Contains("modified", v.Reason);
    }

    [Fact]
    public void Audit_unavailable_refuses_data_operations_and_returns_nothing()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        using var dk = m.GenerateDataKey("k", null, Alice);
        var blob = m.Encrypt("k", "x"u8, null, Alice);
        var count = m.ReadAudit(AuditFilter.All, "auditor").Count;
        env.Sql("CREATE TRIGGER block_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit blocked'); END;");

        DataKey? leaked = null;
        var e = Assert.Throws<KmsException>(() => leaked = m.GenerateDataKey("k", null, Alice));
        Assert.Equal(KmsError.AuditUnavailable, e.Error);
        Assert.Null(leaked);
        Assert.Equal(KmsError.AuditUnavailable, Assert.Throws<KmsException>(() => m.UnwrapDataKey(dk.Wrapped, null, Alice)).Error);
        Assert.Equal(KmsError.AuditUnavailable, Assert.Throws<KmsException>(() => m.Decrypt(blob, null, Alice)).Error);
        Assert.Equal(KmsError.AuditUnavailable, Assert.Throws<KmsException>(() => m.Encrypt("k", "x"u8, null, Alice)).Error);
        // A refusal that cannot be recorded is reported as AuditUnavailable too.
        Assert.Equal(KmsError.AuditUnavailable, Assert.Throws<KmsException>(() => m.DescribeKey("nope", Alice)).Error);

        env.Sql("DROP TRIGGER block_audit");
        Assert.Equal(count + 1, m.ReadAudit(AuditFilter.All, "auditor").Count); // nothing was written meanwhile
        Assert.True(m.VerifyAudit("auditor").Ok);
    }

    [Fact]
    public async Task A_data_key_given_before_its_record_commits_reports_the_commit_or_its_failure()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        var count = m.ReadAudit(AuditFilter.All, "auditor").Count;

        var ok = m.GenerateDataKeyAuditPending("k", null, Alice);
        await ok.Recorded;
        var records = m.ReadAudit(AuditFilter.All, "auditor");
        Assert.Equal(count + 2, records.Count); // the first ReadAudit's own record, then the data key's
        Assert.Equal(("GenerateDataKey", ok.Value.Wrapped.KeyVersion), (records[^1].Operation, records[^1].KeyVersion));
        Assert.Equal(ok.Value.Plaintext.ToArray(), m.UnwrapDataKey(ok.Value.Wrapped, null, Alice));
        ok.Value.Dispose();

        env.Sql("CREATE TRIGGER block_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit blocked'); END;");
        var refused = m.GenerateDataKeyAuditPending("k", null, Alice);
        var e = await Assert.ThrowsAsync<KmsException>(() => refused.Recorded);
        Assert.Equal(KmsError.AuditUnavailable, e.Error);
        env.Sql("DROP TRIGGER block_audit");
        // The second ReadAudit's record and the unwrap above; nothing for the refused key.
        Assert.Equal(count + 4, m.ReadAudit(AuditFilter.All, "auditor").Count);
    }

    [Fact]
    public async Task StreamAudit_pages_through_everything_then_follows_new_records()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        for (var i = 0; i < 2100; i++) m.GenerateRandom(1, Alice); // more than two pages of 1000

        var all = await m.StreamAudit(new AuditFilter { Limit = int.MaxValue }, "auditor", follow: false, TimeSpan.Zero).ToListAsync();
        Assert.Equal(Enumerable.Range(1, all.Count).Select(i => (long)i), all.Select(r => r.Sequence));
        Assert.True(all.Count >= 2101);
        var capped = await m.StreamAudit(new AuditFilter { Limit = 1500, AfterSequence = 100 }, "auditor", follow: false, TimeSpan.Zero).ToListAsync();
        Assert.Equal(Enumerable.Range(101, 1500).Select(i => (long)i), capped.Select(r => r.Sequence));
        var newest = await m.StreamAudit(new AuditFilter { Limit = 3, Newest = true, Operation = "GenerateRandom" }, "auditor", follow: false, TimeSpan.Zero).ToListAsync();
        Assert.Equal(3, newest.Count);
        Assert.Equal(all.Last(r => r.Operation == "GenerateRandom").Sequence, newest[^1].Sequence);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var followed = new List<AuditRecord>();
        var following = Task.Run(async () =>
        {
            await foreach (var r in m.StreamAudit(new AuditFilter { Limit = 1, Newest = true, Operation = "CreateKey" }, "auditor", follow: true, TimeSpan.FromMilliseconds(20), cts.Token))
            {
                lock (followed) followed.Add(r);
                if (r.KeyName == "k3") break;
            }
        });
        foreach (var name in new[] { "k1", "k2", "k3" })
        {
            m.CreateKey(name, null, Alice);
            // The follower polls on the key manager's clock: move it on until the new record arrives.
            while (!cts.IsCancellationRequested)
            {
                lock (followed) if (followed.Any(r => r.KeyName == name)) break;
                env.Clock.Advance(TimeSpan.FromMilliseconds(20));
                await Task.Delay(5);
            }
        }
        await following;
        Assert.Equal(new[] { "k1", "k2", "k3" }, followed.Select(r => r.KeyName).ToArray());
    }

    [Fact]
    public void Audit_unavailable_rolls_back_state_changes()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        env.Sql("CREATE TRIGGER block_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit blocked'); END;");
        Assert.Equal(KmsError.AuditUnavailable, Assert.Throws<KmsException>(() => m.CreateKey("new", null, Alice)).Error);
        Assert.Equal(KmsError.AuditUnavailable, Assert.Throws<KmsException>(() => m.DisableKey("k", Alice)).Error);
        Assert.Equal(KmsError.AuditUnavailable, Assert.Throws<KmsException>(() => m.RotateKey("k", Alice)).Error);
        env.Sql("DROP TRIGGER block_audit");
        Assert.Equal(KmsError.NotFound, Assert.Throws<KmsException>(() => m.DescribeKey("new", Alice)).Error);
        var k = m.DescribeKey("k", Alice);
        Assert.Equal(KeyState.Enabled, k.State);
        Assert.Equal(1, k.PrimaryVersion);
    }

    [Fact]
    public void Audit_unavailable_when_the_database_is_locked()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={env.DbPath};Pooling=False;Default Timeout=1");
        c.Open();
        using var lockTx = c.BeginTransaction(deferred: false); // holds the write lock
        var e = Assert.Throws<KmsException>(() => m.GenerateDataKey("k", null, Alice));
        Assert.Equal(KmsError.AuditUnavailable, e.Error);
        lockTx.Rollback();
        using var dk = m.GenerateDataKey("k", null, Alice);
        Assert.True(m.VerifyAudit("auditor").Ok);
    }

    [Fact]
    public void Concurrent_data_keys_are_all_recorded_and_the_chain_is_valid()
    {
        using var env = new TestEnvironment();
        var m = env.Initialize();
        m.CreateKey("k", null, Alice);
        const int threads = 8, perThread = 150;
        var keys = new ConcurrentBag<WrappedDataKey>();
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            for (var i = 0; i < perThread; i++)
            {
                using var dk = m.GenerateDataKey("k", Ctx(("t", t.ToString()), ("i", i.ToString())), $"worker-{t}");
                keys.Add(dk.Wrapped);
            }
        });
        // A second instance writing concurrently to the same file shares the chain.
        var other = env.Open();
        Parallel.For(0, 4, t =>
        {
            for (var i = 0; i < 50; i++)
                (t % 2 == 0 ? m : other).GenerateDataKey("k", null, "mixed").Dispose();
        });
        Assert.Equal(threads * perThread, keys.Count);
        var records = m.ReadAudit(new AuditFilter { Operation = "GenerateDataKey", Limit = 100_000 }, "auditor");
        Assert.Equal(threads * perThread + 200, records.Count);
        for (var t = 0; t < threads; t++)
            Assert.Equal(perThread, records.Count(r => r.Principal == $"worker-{t}"));
        var v = m.VerifyAudit("auditor");
        Assert.True(v.Ok, v.ToString());
    }
}
