using Coffre.Kms;
using Coffre.Kms.Audit;
using Coffre.Kms.Store;

namespace Coffre.Persistence.Tests.Kms;

/// <summary>The behaviour every <see cref="IAuditLog"/> must have. One subclass per implementation.</summary>
public abstract class AuditLogContractTests : KeyDatabaseContract
{
    private IAuditLog Log => Database.Audit;

    private AuditEntry Entry(string operation, string principal = Alice, string? keyId = null, string? context = null) =>
        new(Clock.GetUtcNow(), principal, operation, keyId, keyId is null ? null : "name-" + keyId, keyId is null ? null : 1, context, "ok");

    [Fact]
    public async Task A_batch_is_appended_in_order_chained_and_readable_by_sequence()
    {
        await Log.AppendAsync([Entry("A"), Entry("B")]);
        await Log.AppendAsync([]);
        await Log.AppendAsync([Entry("C")]);
        var records = Log.Read(AuditFilter.All);
        Assert.Equal(["A", "B", "C"], records.Select(r => r.Operation));
        Assert.Equal([1L, 2L, 3L], records.Select(r => r.Sequence));
        Assert.Equal(AuditChain.Genesis, records[0].PrevHash);
        Assert.Equal(records[1].Hash, records[2].PrevHash);
        Assert.True(AuditChain.Verify(Log.ReadChain()).Ok);
        Assert.Equal(3L, Log.Head()!.Value.Sequence);
        Assert.Equal(records[2].Hash, Log.Head()!.Value.Hash);
        Assert.Equal(records[1].Hash, Log.RecordHash(2));
        Assert.Null(Log.RecordHash(4));
        Assert.Equal(records.Select(r => r.Hash), OpenAgain().Audit.ReadChain().Select(r => r.Hash));
    }

    [Fact]
    public async Task An_empty_trail_has_no_head()
    {
        Assert.Null(Log.Head());
        Assert.Empty(Log.ReadChain());
        Assert.True(AuditChain.Verify(Log.ReadChain()).Ok);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Filters_select_by_key_principal_operation_time_context_and_sequence()
    {
        await Log.AppendAsync([Entry("Encrypt", "bob", "k1", """{"coffre:bucket":"photos","coffre:object":"a.jpg"}""")]);
        Clock.Advance(TimeSpan.FromMinutes(1));
        var minute = Clock.GetUtcNow();
        await Log.AppendAsync([Entry("Decrypt", "carol", "k2", """{"coffre:bucket":"photos","coffre:object":"b.jpg"}"""), Entry("ListKeys")]);
        Assert.Equal([1L], Log.Read(new AuditFilter { Key = "k1" }).Select(r => r.Sequence));
        Assert.Equal([2L], Log.Read(new AuditFilter { Key = "name-k2" }).Select(r => r.Sequence));
        Assert.Equal([2L], Log.Read(new AuditFilter { Principal = "carol" }).Select(r => r.Sequence));
        Assert.Equal([3L], Log.Read(new AuditFilter { Operation = "ListKeys" }).Select(r => r.Sequence));
        Assert.Equal([2L, 3L], Log.Read(new AuditFilter { From = minute }).Select(r => r.Sequence));
        Assert.Equal([1L], Log.Read(new AuditFilter { To = minute }).Select(r => r.Sequence));
        Assert.Equal([1L, 2L], Log.Read(new AuditFilter { Context = new Dictionary<string, string> { ["coffre:bucket"] = "photos" } }).Select(r => r.Sequence));
        Assert.Equal([2L], Log.Read(new AuditFilter { Context = new Dictionary<string, string> { ["coffre:bucket"] = "photos", ["coffre:object"] = "b.jpg" } }).Select(r => r.Sequence));
        Assert.Equal([2L], Log.Read(new AuditFilter { AfterSequence = 1, ThroughSequence = 2 }).Select(r => r.Sequence));
        Assert.Equal([2L, 3L], Log.Read(new AuditFilter { Newest = true, Limit = 2 }).Select(r => r.Sequence));
        Assert.Equal([1L], Log.Read(new AuditFilter { Limit = 1 }).Select(r => r.Sequence));
    }

    [Fact]
    public async Task Concurrent_audited_operations_from_two_key_managers_form_one_chain()
    {
        const int operations = 10_000;
        var other = NewKeyManager(OpenAgain());
        var before = Log.Head()?.Sequence ?? 0;
        // Each key manager group-commits its own batches; the database serialises the batches of both on the chain head.
        await Parallel.ForEachAsync(Enumerable.Range(0, operations), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
            await (i % 2 == 0 ? Keys : other).GenerateRandomAsync(16, i % 2 == 0 ? "instance-a" : "instance-b"));
        var chain = Log.ReadChain().ToList();
        var verification = AuditChain.Verify(chain);
        Assert.True(verification.Ok, verification.ToString());
        Assert.Equal(before + operations, chain.Count);
        Assert.Equal(Enumerable.Range(1, chain.Count).Select(i => (long)i), chain.Select(r => r.Sequence));
        Assert.Equal(operations / 2, chain.Count(r => r.Principal == "instance-b"));
    }

    [Fact]
    public void Checkpoints_keep_the_first_signing_key_and_refuse_a_taken_number()
    {
        var checkpoints = Log.Checkpoints;
        Assert.Null(checkpoints.GetSigningKey());
        Assert.Null(checkpoints.Newest());
        var first = checkpoints.SetSigningKeyIfAbsent([1, 2], [3, 4]);
        var second = OpenAgain().Audit.Checkpoints.SetSigningKeyIfAbsent([5, 6], [7, 8]);
        Assert.Equal([1, 2], first.PublicKey);
        Assert.Equal([3, 4], first.WrappedPrivateKey);
        Assert.Equal(first.PublicKey, second.PublicKey);
        var one = new AuditCheckpoint(AuditCheckpoint.Chained, 1, 5, [9], AuditCheckpoint.Genesis, "2026-03-01T09:00:00.0000000Z", [10]);
        var two = one with { Number = 2, Sequence = 9, Previous = one.Digest() };
        checkpoints.Add(one);
        checkpoints.Add(two);
        Assert.IsType<KmsException>(Record.Exception(() => OpenAgain().Audit.Checkpoints.Add(two with { Sequence = 10 })), exactMatch: true);
        Assert.Equal(two.Digest(), checkpoints.Newest()!.Digest());
        Assert.Equal(one.Digest(), checkpoints.Chained(1)!.Digest());
        Assert.Null(checkpoints.Chained(3));
        Assert.Equal([1L, 2L], checkpoints.List().Select(c => c.Number));
    }

    [Fact]
    public void Relaxed_durability_is_offered_or_refused_with_a_KmsException()
    {
        if (Log.CanRelaxDurability)
        {
            Log.RelaxedDurability = true;
            Assert.True(Log.RelaxedDurability);
        }
        else
        {
            Assert.Equal(KmsError.InvalidArgument, Assert.Throws<KmsException>(() => Log.RelaxedDurability = true).Error);
            Assert.False(Log.RelaxedDurability);
        }
    }
}

public sealed class SqliteAuditLogTests : AuditLogContractTests
{
    protected override Task<string> NewDatabaseAsync() => SqliteKeyDatabases.NewAsync();
    protected override IKeyDatabase Create(string location, string deploymentId) => SqliteKeyDatabases.Create(location, deploymentId);
    protected override IKeyDatabase Open(string location, string deploymentId) => SqliteKeyDatabases.Open(location, deploymentId);
}

public sealed class PostgresAuditLogTests : AuditLogContractTests
{
    protected override Task<string> NewDatabaseAsync() => PostgresKeyDatabases.NewAsync();
    protected override IKeyDatabase Create(string location, string deploymentId) => PostgresKeyDatabases.Create(location, deploymentId);
    protected override IKeyDatabase Open(string location, string deploymentId) => PostgresKeyDatabases.Open(location, deploymentId);
}
