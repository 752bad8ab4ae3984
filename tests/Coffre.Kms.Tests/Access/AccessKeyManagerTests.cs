using System.Text;
using Coffre.Kms.Access;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Kms.Store;

namespace Coffre.Kms.Tests.Access;

/// <summary>Access keys managed at run time: generated secrets, sealed storage, audited changes, revocation and rotation.</summary>
public sealed class AccessKeyManagerTests : IDisposable
{
    private readonly TestEnvironment _env = new();
    private readonly KeyManager _keys;
    private readonly AccessKeyManager _access;

    private static readonly AccessGrants ReadReports = new() { ReadBuckets = ["reports"] };

    public AccessKeyManagerTests()
    {
        _keys = _env.Initialize();
        _access = new AccessKeyManager(_keys, _env.Deployment.AccessKeys, _env.Clock);
    }

    private byte[] StoreFiles() =>
        [.. new[] { _env.DbPath, _env.DbPath + "-wal" }.Where(File.Exists).SelectMany(p =>
        {
            using var f = new FileStream(p, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var m = new MemoryStream();
            f.CopyTo(m);
            return m.ToArray();
        })];

    private static bool Contains(byte[] haystack, string needle) => haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)) >= 0;

    [Fact]
    public void Create_generates_an_AWS_shaped_secret_that_is_never_stored_or_audited_in_clear()
    {
        var created = _access.Create(ReadReports, "backup job", "alice");
        Assert.Matches("^COFFRE[A-Z2-7]{14}$", created.Key.AccessKeyId);
        Assert.Equal(40, created.SecretAccessKey.Length);
        Assert.Equal(ReadReports, created.Key.Grants);
        Assert.DoesNotContain(created.SecretAccessKey, created.ToString());

        var active = Assert.Single(_access.LoadActive());
        Assert.Equal(created.SecretAccessKey, active.SecretAccessKey);
        Assert.False(Contains(StoreFiles(), created.SecretAccessKey), "the secret is in keys.db in clear");
        var record = Assert.Single(_keys.ReadAudit(new AuditFilter { Operation = AccessKeyManager.CreateOperation }, "alice"));
        Assert.Equal("alice", record.Principal);
        Assert.Contains(created.Key.AccessKeyId, record.Context);
        Assert.DoesNotContain(created.SecretAccessKey, record.Context);
    }

    [Fact]
    public void Grant_revoke_and_rotate_are_each_audited_and_the_chain_verifies()
    {
        var created = _access.Create(AccessGrants.None, null, "alice");
        var id = created.Key.AccessKeyId;
        var granted = _access.Grant(id, ReadReports, AccessGrants.None, "alice");
        Assert.Equal(["reports"], granted.Grants.ReadBuckets);
        var narrowed = _access.Grant(id, AccessGrants.Change(writeBuckets: ["drop"]), AccessGrants.Change(readBuckets: ["reports"]), "alice");
        Assert.Empty(narrowed.Grants.ReadBuckets);
        Assert.Equal(["drop"], narrowed.Grants.WriteBuckets);
        var rotated = _access.Rotate(id, "alice");
        _access.Revoke(id, "bob");

        var ops = _keys.ReadAudit(AuditFilter.All, "alice").Where(a => a.Operation.EndsWith("AccessKey", StringComparison.Ordinal)).ToList();
        Assert.Equal(["CreateAccessKey", "GrantAccessKey", "GrantAccessKey", "RotateAccessKey", "RevokeAccessKey"], ops.Select(a => a.Operation));
        Assert.Equal("bob", ops[^1].Principal);
        Assert.All(ops, a => Assert.DoesNotContain(rotated.SecretAccessKey, a.Context ?? ""));
        Assert.All(ops, a => Assert.DoesNotContain(created.SecretAccessKey, a.Context ?? ""));
        Assert.True(_keys.VerifyAudit("alice").Ok);
    }

    [Fact]
    public void Rotate_replaces_the_secret_at_once_and_revoke_erases_it()
    {
        var created = _access.Create(ReadReports, null, "alice");
        var rotated = _access.Rotate(created.Key.AccessKeyId, "alice");
        Assert.NotEqual(created.SecretAccessKey, rotated.SecretAccessKey);
        Assert.Equal(rotated.SecretAccessKey, Assert.Single(_access.LoadActive()).SecretAccessKey);
        Assert.Equal(ReadReports, rotated.Key.Grants);

        var revoked = _access.Revoke(created.Key.AccessKeyId, "alice");
        Assert.NotNull(revoked.Revoked);
        Assert.Empty(_access.LoadActive());
        Assert.Null(_env.Deployment.AccessKeys.Find(created.Key.AccessKeyId)!.WrappedSecret);
        // A revoked key stays revoked: no grant, no rotation brings it back.
        Assert.Equal(KmsError.Conflict, Assert.Throws<KmsException>(() => _access.Rotate(created.Key.AccessKeyId, "alice")).Error);
        Assert.Equal(KmsError.Conflict, Assert.Throws<KmsException>(() => _access.Grant(created.Key.AccessKeyId, ReadReports, AccessGrants.None, "alice")).Error);
    }

    [Fact]
    public void Grants_widened_by_editing_keys_db_make_the_key_unusable_instead_of_more_powerful()
    {
        var created = _access.Create(ReadReports, null, "alice");
        _env.Sql($"UPDATE access_keys SET grants = '{AccessGrantsJson.Serialize(AccessGrants.All)}' WHERE id = '{created.Key.AccessKeyId}'");
        Assert.Empty(_access.LoadActive());
    }

    [Fact]
    public void Changes_to_an_unknown_key_are_refused_and_the_refusal_is_audited()
    {
        var e = Assert.Throws<KmsException>(() => _access.Revoke("COFFRENOSUCHKEY00000", "mallory"));
        Assert.Equal(KmsError.NotFound, e.Error);
        var refusal = Assert.Single(_keys.ReadAudit(new AuditFilter { Operation = AccessKeyManager.RevokeOperation }, "alice"));
        Assert.Equal("mallory", refusal.Principal);
        Assert.Equal(nameof(KmsError.NotFound), refusal.Result);
    }

    public void Dispose() => _env.Dispose();
}
