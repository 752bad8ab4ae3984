using Coffre.Kms.Access;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Kms;
using Coffre.Kms.Store;

namespace Coffre.Persistence.Tests.Kms;

/// <summary>The behaviour every <see cref="IAccessKeyStore"/> must have. One subclass per implementation.</summary>
public abstract class AccessKeyStoreContractTests : KeyDatabaseContract
{
    /// <summary>A store over the same database as <see cref="KeyDatabaseContract.Keys"/>, through a handle of its own
    /// (its audit records join the same chain).</summary>
    private IAccessKeyStore NewStore() => OpenAgain().AccessKeys;

    private static readonly AccessGrants Grants = new() { ReadBuckets = ["reports"], KmsKeys = ["alias/app"], KmsOperations = ["Encrypt"] };

    private AccessKeyRecord Record(string id, long revision = 1) =>
        new(id, "for tests", Grants, new byte[61], Clock.GetUtcNow(), "alice", Clock.GetUtcNow(), null, revision);

    private AuditEntry Audit(string op) => Keys.NewAuditEntry(op, "alice", null);

    [Fact]
    public void Insert_then_find_and_list_round_trip_every_field()
    {
        var store = NewStore();
        var r = Record("COFFREAAAAAAAAAAAAA1");
        store.Insert(r, Audit("CreateAccessKey"));
        var found = store.Find(r.AccessKeyId)!;
        Assert.Equal(r with { WrappedSecret = null }, found with { WrappedSecret = null });
        Assert.Equal(r.WrappedSecret, found.WrappedSecret);
        Assert.Equal(Grants, found.Grants);
        Assert.Equal([r.AccessKeyId], NewStore().List().Select(k => k.AccessKeyId));
        Assert.Null(store.Find("COFFRENOSUCHKEY00000"));
    }

    [Fact]
    public void Every_write_moves_the_generation_and_appends_its_audit_record_to_the_chain()
    {
        var store = NewStore();
        var before = store.ReadGeneration();
        var r = Record("COFFREAAAAAAAAAAAAA2");
        store.Insert(r, Audit("CreateAccessKey"));
        var afterInsert = store.ReadGeneration();
        store.Update(r with { Revision = 2, Grants = AccessGrants.None }, Audit("GrantAccessKey"));
        Assert.True(afterInsert > before);
        Assert.True(store.ReadGeneration() > afterInsert);
        var ops = Keys.ReadAudit(AuditFilter.All, "alice").Select(a => a.Operation).ToList();
        Assert.Equal(["CreateAccessKey", "GrantAccessKey"], ops.Where(o => o.EndsWith("AccessKey", StringComparison.Ordinal)));
        Assert.True(Keys.VerifyAudit("alice").Ok);
    }

    [Fact]
    public void Insert_of_a_taken_id_is_refused_and_writes_nothing()
    {
        var store = NewStore();
        var r = Record("COFFREAAAAAAAAAAAAA3");
        store.Insert(r, Audit("CreateAccessKey"));
        var generation = store.ReadGeneration();
        var e = Assert.Throws<KmsException>(() => store.Insert(r with { Description = "again" }, Audit("CreateAccessKey")));
        Assert.Equal(KmsError.AlreadyExists, e.Error);
        Assert.Equal(generation, store.ReadGeneration());
        Assert.Equal("for tests", store.Find(r.AccessKeyId)!.Description);
        Assert.Single(Keys.ReadAudit(AuditFilter.All, "alice"), a => a.Operation == "CreateAccessKey");
    }

    [Fact]
    public void Update_from_a_stale_revision_is_a_conflict_and_an_unknown_key_is_not_found()
    {
        var store = NewStore();
        var r = Record("COFFREAAAAAAAAAAAAA4");
        store.Insert(r, Audit("CreateAccessKey"));
        store.Update(r with { Revision = 2, Description = "first writer" }, Audit("GrantAccessKey"));
        // A second writer that read revision 1 too:
        var e = Assert.Throws<KmsException>(() => store.Update(r with { Revision = 2, Description = "second writer" }, Audit("GrantAccessKey")));
        Assert.Equal(KmsError.Conflict, e.Error);
        Assert.Equal("first writer", store.Find(r.AccessKeyId)!.Description);
        Assert.Equal(KmsError.NotFound, Assert.Throws<KmsException>(() => store.Update(Record("COFFRENOSUCHKEY00000", 2), Audit("GrantAccessKey"))).Error);
    }

    [Fact]
    public void A_revoked_record_keeps_its_id_and_loses_its_secret()
    {
        var store = NewStore();
        var r = Record("COFFREAAAAAAAAAAAAA5");
        store.Insert(r, Audit("CreateAccessKey"));
        var revoked = r with { Revision = 2, WrappedSecret = null, Revoked = Clock.GetUtcNow() };
        store.Update(revoked, Audit("RevokeAccessKey"));
        var found = store.Find(r.AccessKeyId)!;
        Assert.Null(found.WrappedSecret);
        Assert.Equal(revoked.Revoked, found.Revoked);
        Assert.Equal(KmsError.AlreadyExists, Assert.Throws<KmsException>(() => store.Insert(r, Audit("CreateAccessKey"))).Error);
    }
}

public sealed class SqliteAccessKeyStoreTests : AccessKeyStoreContractTests
{
    protected override Task<string> NewDatabaseAsync() => SqliteKeyDatabases.NewAsync();
    protected override IKeyDatabase Create(string location, string deploymentId) => SqliteKeyDatabases.Create(location, deploymentId);
    protected override IKeyDatabase Open(string location, string deploymentId) => SqliteKeyDatabases.Open(location, deploymentId);
}

public sealed class PostgresAccessKeyStoreTests : AccessKeyStoreContractTests
{
    protected override Task<string> NewDatabaseAsync() => PostgresKeyDatabases.NewAsync();
    protected override IKeyDatabase Create(string location, string deploymentId) => PostgresKeyDatabases.Create(location, deploymentId);
    protected override IKeyDatabase Open(string location, string deploymentId) => PostgresKeyDatabases.Open(location, deploymentId);
}
