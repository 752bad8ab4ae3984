using System.Security.Cryptography;
using Coffre.Kms;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Kms.Store;
using Coffre.Sqlite.Kms;
using Microsoft.Data.Sqlite;

namespace Coffre.Persistence.Tests.Kms;

/// <summary>RSA keys on every key database: spec and usage persist, key pairs per version survive reopening and rotation.</summary>
public abstract class AsymmetricKeyContractTests : KeyDatabaseContract
{
    [Fact]
    public void Key_spec_and_usage_round_trip_and_default_to_symmetric()
    {
        var now = Clock.GetUtcNow();
        var rsa = new KeyRecord(Guid.NewGuid().ToString("D"), "signer", null, now, KeyState.Enabled, null, 1, 1, null, null, null,
            new Dictionary<string, string>(), KeySpec.Rsa3072, KeyUsage.SignVerify);
        var aes = new KeyRecord(Guid.NewGuid().ToString("D"), "plain", null, now, KeyState.Enabled, null, 1, 1, null, null, null,
            new Dictionary<string, string>());
        using (var tx = Database.Keys.BeginWrite())
        {
            tx.InsertKey(rsa);
            tx.InsertKey(aes);
            // An update (as every state change writes) keeps what the key is.
            tx.UpdateKey(rsa with { State = KeyState.Disabled });
            tx.AppendAudit(new AuditEntry(now, Alice, "CreateKey", null, null, null, null, "ok"));
            tx.Commit();
        }
        var again = OpenAgain().Keys;
        Assert.Equal((KeySpec.Rsa3072, KeyUsage.SignVerify), (again.FindKeyById(rsa.Id)!.Spec, again.FindKeyById(rsa.Id)!.Usage));
        Assert.Equal((KeySpec.SymmetricDefault, KeyUsage.EncryptDecrypt), (again.FindKeyByName("plain")!.Spec, again.FindKeyByName("plain")!.Usage));
        Assert.Equal(KeySpec.Rsa3072, again.ListKeys().Single(k => k.Name == "signer").Spec);
    }

    [Fact]
    public void An_rsa_key_signs_after_reopening_and_rotation_and_old_signatures_still_verify()
    {
        Keys.CreateKey("signer", null, Alice, spec: KeySpec.Rsa2048, usage: KeyUsage.SignVerify);
        var message = "contract"u8.ToArray();
        var first = Keys.Sign("signer", message, false, SigningAlgorithm.RsassaPssSha256, Alice);
        var publicKey = Keys.GetPublicKey("signer", Alice).SubjectPublicKeyInfo;

        // Another instance on the same database unseals the same private key.
        var other = NewKeyManager(OpenAgain());
        Assert.Equal(1, other.Verify("signer", message, false, SigningAlgorithm.RsassaPssSha256, first.Signature, Alice).KeyVersion);
        other.RotateKey("signer", Alice);
        var second = other.Sign("signer", message, false, SigningAlgorithm.RsassaPssSha256, Alice);
        Assert.Equal(2, second.KeyVersion);
        Assert.NotEqual(publicKey, other.GetPublicKey("signer", Alice).SubjectPublicKeyInfo);
        Assert.Equal(1, other.Verify("signer", message, false, SigningAlgorithm.RsassaPssSha256, first.Signature, Alice).KeyVersion);
        Assert.Equal(2, other.Verify("signer", message, false, SigningAlgorithm.RsassaPssSha256, second.Signature, Alice).KeyVersion);

        // The private key is sealed in the store: its PKCS#8 encoding's fixed prefix never appears.
        using var pkcs8 = RSA.Create(2048);
        var prefix = pkcs8.ExportPkcs8PrivateKey()[..26];
        foreach (var v in Database.Keys.ListVersions(Keys.DescribeKey("signer", Alice).Id))
            Assert.True(v.WrappedMaterial!.AsSpan().IndexOf(prefix) < 0);

        other.DisableKeyVersion("signer", 1, Alice);
        var refused = Assert.Throws<KmsException>(() => other.Verify("signer", message, false, SigningAlgorithm.RsassaPssSha256, first.Signature, Alice).KeyVersion);
        Assert.Equal(KmsError.InvalidSignature, refused.Error);
    }
}

public sealed class SqliteAsymmetricKeyTests : AsymmetricKeyContractTests
{
    protected override Task<string> NewDatabaseAsync() => SqliteKeyDatabases.NewAsync();
    protected override IKeyDatabase Create(string location, string deploymentId) => SqliteKeyDatabases.Create(location, deploymentId);
    protected override IKeyDatabase Open(string location, string deploymentId) => SqliteKeyDatabases.Open(location, deploymentId);
}

public sealed class PostgresAsymmetricKeyTests : AsymmetricKeyContractTests
{
    protected override Task<string> NewDatabaseAsync() => PostgresKeyDatabases.NewAsync();
    protected override IKeyDatabase Create(string location, string deploymentId) => PostgresKeyDatabases.Create(location, deploymentId);
    protected override IKeyDatabase Open(string location, string deploymentId) => PostgresKeyDatabases.Open(location, deploymentId);
}

/// <summary>A keys.db made by a Coffre before RSA keys (schema version 1) opens, gains the columns in place, and keeps its keys.</summary>
public sealed class SqliteKeySchemaUpgradeTests
{
    [Fact]
    public async Task A_version_1_keys_db_is_upgraded_in_place_on_open()
    {
        var path = await SqliteKeyDatabases.NewAsync();
        var deployment = Guid.NewGuid().ToString("D");
        var id = Guid.NewGuid().ToString("D");
        using (var db = SqliteKeyDatabase.Create(path, deployment))
        using (var tx = db.Keys.BeginWrite())
        {
            tx.InsertKey(new KeyRecord(id, "old", null, DateTimeOffset.UnixEpoch, KeyState.Enabled, null, 1, 1, null, null, null, new Dictionary<string, string>()));
            tx.AppendAudit(new AuditEntry(DateTimeOffset.UnixEpoch, "alice", "CreateKey", null, null, null, null, "ok"));
            tx.Commit();
        }
        // What version 1 had: no key_spec, no key_usage.
        using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "ALTER TABLE keys DROP COLUMN key_spec; ALTER TABLE keys DROP COLUMN key_usage; PRAGMA user_version = 1;";
            cmd.ExecuteNonQuery();
        }
        using (var db = SqliteKeyDatabase.Open(path, deployment))
        {
            var key = db.Keys.FindKeyById(id)!;
            Assert.Equal(("old", KeySpec.SymmetricDefault, KeyUsage.EncryptDecrypt), (key.Name, key.Spec, key.Usage));
        }
        using var check = new SqliteConnection($"Data Source={path};Pooling=False");
        check.Open();
        using var version = check.CreateCommand();
        version.CommandText = "PRAGMA user_version;";
        Assert.Equal(2L, (long)version.ExecuteScalar()!);
    }
}
