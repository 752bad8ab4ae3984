using Coffre.Kms;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Kms.Store;

namespace Coffre.Persistence.Tests.Kms;

/// <summary>The behaviour every <see cref="IKeyStore"/> must have. One subclass per implementation.</summary>
public abstract class KeyStoreContractTests : KeyDatabaseContract
{
    private IKeyStore Store => Database.Keys;

    private KeyRecord NewKey(string name) => new(Guid.NewGuid().ToString("D"), name, "described", Clock.GetUtcNow(), KeyState.Enabled, null, 1, 1,
        TimeSpan.FromDays(90), Clock.GetUtcNow().AddDays(90), null, new Dictionary<string, string> { ["team"] = "finance", ["a"] = "b" });

    private KeyVersionRecord Version(KeyRecord key, int version) =>
        new(key.Id, version, KeyVersionState.Enabled, Clock.GetUtcNow(), null, [1, 2, 3, (byte)version]);

    private AuditEntry Entry(string operation) => new(Clock.GetUtcNow(), Alice, operation, null, null, null, null, "ok");

    private KeyRecord Insert(string name, params int[] versions)
    {
        var key = NewKey(name);
        using var tx = Store.BeginWrite();
        tx.InsertKey(key);
        foreach (var v in versions) tx.InsertVersion(Version(key, v));
        tx.AppendAudit(Entry("CreateKey"));
        tx.Commit();
        return key;
    }

    [Fact]
    public void Keys_versions_and_aliases_round_trip_every_field()
    {
        var key = Insert("finance", 1, 2);
        using (var tx = Store.BeginWrite())
        {
            tx.UpsertAlias(new AliasRecord("alias/fin", key.Id, Clock.GetUtcNow()));
            tx.Commit();
        }
        Assert.Equal(key, Store.FindKeyById(key.Id)! with { Tags = key.Tags });
        Assert.Equal(key.Tags, Store.FindKeyById(key.Id)!.Tags);
        Assert.Equal(key.Id, Store.FindKeyByName("finance")!.Id);
        Assert.Null(Store.FindKeyByName("nope"));
        Assert.Equal([key.Id], Store.ListKeys().Select(k => k.Id));
        var versions = Store.ListVersions(key.Id);
        Assert.Equal([1, 2], versions.Select(v => v.Version));
        Assert.Equal(Version(key, 2).WrappedMaterial, versions[1].WrappedMaterial);
        Assert.Equal(Clock.GetUtcNow(), versions[0].Created);
        Assert.Equal(new AliasRecord("alias/fin", key.Id, Clock.GetUtcNow()), Store.FindAlias("alias/fin"));
        Assert.Equal(["alias/fin"], Store.ListAliases().Select(a => a.Alias));
        // Another handle (another process or instance) reads the same.
        Assert.Equal(key.Id, OpenAgain().Keys.FindKeyByName("finance")!.Id);
    }

    [Fact]
    public void A_transaction_disposed_without_commit_changes_nothing_and_leaves_the_generation()
    {
        var before = Store.ReadGeneration();
        using (var tx = Store.BeginWrite())
        {
            tx.InsertKey(NewKey("ghost"));
            tx.AppendAudit(Entry("CreateKey"));
        }
        Assert.Null(Store.FindKeyByName("ghost"));
        Assert.Equal(before, Store.ReadGeneration());
        Assert.Empty(Database.Audit.Read(AuditFilter.All));
    }

    [Fact]
    public void A_commit_moves_the_generation_and_commits_its_audit_record_with_the_change()
    {
        var before = Store.ReadGeneration();
        Insert("k", 1);
        Assert.True(Store.ReadGeneration() > before);
        var record = Assert.Single(Database.Audit.Read(AuditFilter.All));
        Assert.Equal("CreateKey", record.Operation);
        Assert.True(AuditChain.Verify(Database.Audit.ReadChain()).Ok);
    }

    [Fact]
    public void Updates_version_states_destruction_and_alias_changes_are_stored()
    {
        var key = Insert("k", 1, 2);
        var other = Insert("other", 1);
        using (var tx = Store.BeginWrite())
        {
            tx.UpdateKey(key with { State = KeyState.Disabled, PrimaryVersion = 2, Description = null, RotationPeriod = null, NextRotation = null });
            tx.SetVersionState(key.Id, 1, KeyVersionState.Disabled);
            tx.UpsertAlias(new AliasRecord("alias/x", key.Id, Clock.GetUtcNow()));
            tx.Commit();
        }
        using (var tx = Store.BeginWrite())
        {
            tx.UpsertAlias(new AliasRecord("alias/x", other.Id, Clock.GetUtcNow()));
            Assert.False(tx.DeleteAlias("alias/none"));
            tx.DestroyVersions(other.Id, Clock.GetUtcNow());
            tx.Commit();
        }
        var stored = Store.FindKeyById(key.Id)!;
        Assert.Equal((KeyState.Disabled, 2, (string?)null, (TimeSpan?)null), (stored.State, stored.PrimaryVersion, stored.Description, stored.RotationPeriod));
        Assert.Equal(KeyVersionState.Disabled, Store.ListVersions(key.Id)[0].State);
        Assert.Equal(other.Id, Store.FindAlias("alias/x")!.KeyId);
        var destroyed = Assert.Single(Store.ListVersions(other.Id));
        Assert.Equal((KeyVersionState.Destroyed, (byte[]?)null), (destroyed.State, destroyed.WrappedMaterial));
        Assert.NotNull(destroyed.Destroyed);
        using (var tx = Store.BeginWrite())
        {
            Assert.True(tx.DeleteAlias("alias/x"));
            tx.Commit();
        }
        Assert.Null(Store.FindAlias("alias/x"));
    }

    [Fact]
    public void A_root_migration_replaces_version_material_but_never_revives_a_destroyed_version()
    {
        var key = Insert("k", 1, 2);
        var gone = Insert("gone", 1);
        using (var tx = Store.BeginWrite())
        {
            tx.DestroyVersions(gone.Id, Clock.GetUtcNow());
            tx.Commit();
        }
        using (var tx = Store.BeginWrite())
        {
            tx.ReplaceVersionMaterial(key.Id, 2, [9, 9, 9]);
            tx.ReplaceVersionMaterial(gone.Id, 1, [9, 9, 9]);
            tx.AppendAudit(Entry("RootMigrationRewrap"));
            tx.Commit();
        }
        Assert.Equal([[1, 2, 3, 1], [9, 9, 9]], Store.ListVersions(key.Id).Select(v => v.WrappedMaterial!).ToArray());
        Assert.Null(Assert.Single(Store.ListVersions(gone.Id)).WrappedMaterial);
    }

    [Fact]
    public void A_root_migration_replaces_the_wrapped_signing_key_of_the_same_public_key_only()
    {
        var checkpoints = Database.Audit.Checkpoints;
        checkpoints.SetSigningKeyIfAbsent([1, 1], [2, 2]);
        checkpoints.ReplaceWrappedPrivateKey([7, 7], [3, 3]);
        Assert.Equal([2, 2], checkpoints.GetSigningKey()!.Value.WrappedPrivateKey);
        checkpoints.ReplaceWrappedPrivateKey([1, 1], [4, 4]);
        var (publicKey, wrapped) = checkpoints.GetSigningKey()!.Value;
        Assert.Equal([1, 1], publicKey);
        Assert.Equal([4, 4], wrapped);
    }

    [Fact]
    public void A_failing_statement_is_a_KmsException_and_the_transaction_commits_nothing()
    {
        var key = Insert("k", 1);
        using (var tx = Store.BeginWrite())
        {
            // The same version twice: the store refuses it with its own error, never a driver's exception.
            Assert.IsType<KmsException>(Record.Exception(() => tx.InsertVersion(Version(key, 1))), exactMatch: true);
        }
        Assert.Single(Store.ListVersions(key.Id));
    }

    /// <summary>The bound an implementation documents for a change to reach another instance (SQLite: the next operation;
    /// PostgreSQL: notification, else the 1 s poll), with slack for a loaded test machine.</summary>
    protected virtual TimeSpan ChangeBound => TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_key_disabled_on_one_instance_is_refused_on_another_within_the_bound()
    {
        var b = NewKeyManager(OpenAgain());
        Keys.CreateKey("shared", null, Alice);
        var blob = await b.EncryptAsync("shared", new byte[] { 1, 2, 3 }, null, Alice);
        await b.DecryptAsync(blob, null, Alice); // b now holds the key in its cache, by name and by id
        Keys.DisableKey("shared", Alice);
        var disabledAt = DateTime.UtcNow;
        KmsException? refused = null;
        while (refused is null && DateTime.UtcNow - disabledAt < ChangeBound)
        {
            try
            {
                await b.DecryptAsync(blob, null, Alice);
                await Task.Delay(20);
            }
            catch (KmsException e)
            {
                refused = e;
            }
        }
        Assert.Equal(KmsError.Disabled, refused?.Error);
        // ...and enabled again the same way.
        Keys.EnableKey("shared", Alice);
        var enabledAt = DateTime.UtcNow;
        DecryptResult? decrypted = null;
        while (decrypted is null && DateTime.UtcNow - enabledAt < ChangeBound)
        {
            try
            {
                decrypted = await b.DecryptAsync(blob, null, Alice);
            }
            catch (KmsException e) when (e.Error == KmsError.Disabled)
            {
                await Task.Delay(20);
            }
        }
        Assert.Equal([1, 2, 3], decrypted?.Plaintext);
    }

    [Fact]
    public async Task Writers_on_two_handles_take_turns_so_a_due_rotation_happens_once()
    {
        var other = NewKeyManager(OpenAgain());
        Keys.CreateKey("rotating", null, Alice);
        Keys.SetRotationPolicy("rotating", TimeSpan.FromHours(1), Alice);
        Clock.Advance(TimeSpan.FromHours(2));
        // Both instances find the key due and rotate at once; the check inside the serialized transaction lets one win.
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            Task.Run(() => (i % 2 == 0 ? Keys : other).RotateDueKeys("scheduler"))));
        Assert.Equal(1, results.Sum());
        Assert.Equal(2, Keys.DescribeKey("rotating", Alice).PrimaryVersion);
        Assert.Equal([1, 2], Database.Keys.ListVersions(Keys.DescribeKey("rotating", Alice).Id).Select(v => v.Version));
    }
}

public sealed class SqliteKeyStoreTests : KeyStoreContractTests
{
    protected override Task<string> NewDatabaseAsync() => SqliteKeyDatabases.NewAsync();
    protected override IKeyDatabase Create(string location, string deploymentId) => SqliteKeyDatabases.Create(location, deploymentId);
    protected override IKeyDatabase Open(string location, string deploymentId) => SqliteKeyDatabases.Open(location, deploymentId);
}

public sealed class PostgresKeyStoreTests : KeyStoreContractTests
{
    protected override Task<string> NewDatabaseAsync() => PostgresKeyDatabases.NewAsync();
    protected override IKeyDatabase Create(string location, string deploymentId) => PostgresKeyDatabases.Create(location, deploymentId);
    protected override IKeyDatabase Open(string location, string deploymentId) => PostgresKeyDatabases.Open(location, deploymentId);
}
