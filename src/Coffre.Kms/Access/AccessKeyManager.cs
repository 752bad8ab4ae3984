using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Coffre.Kms.Keys;

namespace Coffre.Kms.Access;

/// <summary>
/// Access keys managed at run time: created with a generated secret (shown once), granted, revoked, rotated.
/// Secrets are stored wrapped by the root key only; every change is an audit record committed with it (the
/// secret is never in the record). Revocation and rotation take effect at once: the old secret is erased.
/// </summary>
public sealed class AccessKeyManager(KeyManager keys, IAccessKeyStore store, TimeProvider? time = null)
{
    public const string CreateOperation = "CreateAccessKey";
    public const string GrantOperation = "GrantAccessKey";
    public const string RevokeOperation = "RevokeAccessKey";
    public const string RotateOperation = "RotateAccessKey";
    public const string RewrapOperation = "RewrapAccessKey";

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public long Generation() => store.ReadGeneration();

    public NewAccessKey Create(AccessGrants grants, string? description, string principal)
    {
        var id = AccessKeySecrets.NewAccessKeyId();
        return Audited(CreateOperation, principal, id, () =>
        {
            CheckGrants(grants);
            if (description is { Length: > 256 })
                throw new KmsException(KmsError.InvalidArgument, "An access key description is at most 256 characters.");
            var now = _time.GetUtcNow();
            var record = new AccessKeyRecord(id, description, grants, null, now, principal, now, null, 1);
            var (wrapped, secret) = NewSecret(record);
            record = record with { WrappedSecret = wrapped };
            store.Insert(record, keys.NewAuditEntry(CreateOperation, principal, Context(record)));
            return new NewAccessKey(AccessKeyInfo.From(record), secret);
        });
    }

    public IReadOnlyList<AccessKeyInfo> List() => [.. store.List().Select(AccessKeyInfo.From)];

    public AccessKeyInfo Show(string accessKeyId) => AccessKeyInfo.From(Require(accessKeyId));

    /// <summary>Adds the grants of <paramref name="add"/>, then withdraws those of <paramref name="remove"/>.</summary>
    public AccessKeyInfo Grant(string accessKeyId, AccessGrants add, AccessGrants remove, string principal) =>
        Audited(GrantOperation, principal, accessKeyId, () =>
        {
            var current = RequireActive(accessKeyId);
            var grants = current.Grants.Add(add).Remove(remove);
            CheckGrants(grants);
            var seed = new byte[AccessKeySecrets.SeedBytes];
            try
            {
                keys.UnwrapWithRoot(current.WrappedSecret!, Aad(current), seed);
                var next = Next(current) with { Grants = grants };
                next = next with { WrappedSecret = keys.WrapWithRoot(seed, Aad(next)) };
                store.Update(next, keys.NewAuditEntry(GrantOperation, principal, Context(next)));
                return AccessKeyInfo.From(next);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(seed);
            }
        });

    /// <summary>Revokes the key for good: its secret is erased, its id stays taken and listed.</summary>
    public AccessKeyInfo Revoke(string accessKeyId, string principal) =>
        Audited(RevokeOperation, principal, accessKeyId, () =>
        {
            var current = RequireActive(accessKeyId);
            var next = Next(current) with { WrappedSecret = null, Revoked = _time.GetUtcNow() };
            store.Update(next, keys.NewAuditEntry(RevokeOperation, principal, Context(next)));
            return AccessKeyInfo.From(next);
        });

    /// <summary>A new secret for the same id and grants; the old secret is refused from now on (no overlap).</summary>
    public NewAccessKey Rotate(string accessKeyId, string principal) =>
        Audited(RotateOperation, principal, accessKeyId, () =>
        {
            var next = Next(RequireActive(accessKeyId));
            var (wrapped, secret) = NewSecret(next);
            next = next with { WrappedSecret = wrapped };
            store.Update(next, keys.NewAuditEntry(RotateOperation, principal, Context(next)));
            return new NewAccessKey(AccessKeyInfo.From(next), secret);
        });

    /// <summary>
    /// During a root migration, rewraps the secret of every usable access key under the new root (same secret, same
    /// grants, next revision), each change audited; keys an earlier run already rewrapped are skipped. Returns how many
    /// were rewrapped now and how many were already.
    /// </summary>
    public (int Rewrapped, int Already) RewrapSecretsUnderNewRoot(string principal)
    {
        var (rewrapped, already) = (0, 0);
        var seed = new byte[AccessKeySecrets.SeedBytes];
        try
        {
            foreach (var current in store.List())
            {
                if (current.Revoked is not null || current.WrappedSecret is null) continue;
                if (!keys.NeedsRewrap(current.WrappedSecret, Aad(current)))
                {
                    already++;
                    continue;
                }
                keys.UnwrapWithRoot(current.WrappedSecret, Aad(current), seed);
                var next = Next(current);
                next = next with { WrappedSecret = keys.WrapWithRoot(seed, Aad(next)) };
                store.Update(next, keys.NewAuditEntry(RewrapOperation, principal, Context(next)));
                rewrapped++;
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
        return (rewrapped, already);
    }

    /// <summary>The usable keys with their secrets. A key whose stored row does not unwrap (edited on disk) is left out.</summary>
    public IReadOnlyList<ActiveAccessKey> LoadActive()
    {
        var active = new List<ActiveAccessKey>();
        var seed = new byte[AccessKeySecrets.SeedBytes];
        try
        {
            foreach (var r in store.List())
            {
                if (r.Revoked is not null || r.WrappedSecret is null) continue;
                try
                {
                    keys.UnwrapWithRoot(r.WrappedSecret, Aad(r), seed);
                }
                catch (KmsException e) when (e.Error == KmsError.InvalidCiphertext)
                {
                    continue; // fail closed: a row whose grants or revision were edited is no credential
                }
                active.Add(new ActiveAccessKey(r.AccessKeyId, AccessKeySecrets.Secret(seed), r.Grants));
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
        return active;
    }

    private T Audited<T>(string operation, string principal, string accessKeyId, Func<T> change)
    {
        try
        {
            return change();
        }
        catch (KmsException e) when (e.Error != KmsError.AuditUnavailable)
        {
            throw keys.RecordRefusal(operation, principal, KeyManager.Json(("access_key_id", accessKeyId)), e);
        }
    }

    private AccessKeyRecord Require(string accessKeyId) =>
        store.Find(accessKeyId) ?? throw new KmsException(KmsError.NotFound,
            $"There is no access key '{KeyNames.Shorten(accessKeyId)}'. List them with `coffre access-key list`.");

    private AccessKeyRecord RequireActive(string accessKeyId)
    {
        var r = Require(accessKeyId);
        if (r.Revoked is not null || r.WrappedSecret is null)
            throw new KmsException(KmsError.Conflict, $"Access key '{r.AccessKeyId}' was revoked; create a new one.");
        return r;
    }

    private AccessKeyRecord Next(AccessKeyRecord r) => r with { Revision = r.Revision + 1, Updated = _time.GetUtcNow() };

    private (byte[] Wrapped, string Secret) NewSecret(AccessKeyRecord record)
    {
        var seed = RandomNumberGenerator.GetBytes(AccessKeySecrets.SeedBytes);
        try
        {
            return (keys.WrapWithRoot(seed, Aad(record)), AccessKeySecrets.Secret(seed));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    private static void CheckGrants(AccessGrants grants)
    {
        var problems = grants.Problems();
        if (problems.Count > 0) throw new KmsException(KmsError.InvalidArgument, string.Join(" ", problems));
    }

    /// <summary>
    /// AAD of a wrapped access-key secret: "coffre/v1/access-key" || lp(id) || u64(revision) || lp(grants JSON)
    /// (docs/format.md §6.4). Binding grants and revision means a row whose grants were widened, or an old secret
    /// copied into a newer row, no longer unwraps.
    /// </summary>
    private static byte[] Aad(AccessKeyRecord r)
    {
        var label = "coffre/v1/access-key"u8;
        var id = Encoding.UTF8.GetBytes(r.AccessKeyId);
        var grants = Encoding.UTF8.GetBytes(AccessGrantsJson.Serialize(r.Grants));
        var aad = new byte[label.Length + 4 + id.Length + 8 + 4 + grants.Length];
        var span = aad.AsSpan();
        label.CopyTo(span);
        span = span[label.Length..];
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)id.Length);
        id.CopyTo(span[4..]);
        span = span[(4 + id.Length)..];
        BinaryPrimitives.WriteUInt64BigEndian(span, (ulong)r.Revision);
        span = span[8..];
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)grants.Length);
        grants.CopyTo(span[4..]);
        return aad;
    }

    /// <summary>Audit context of a change: the key, its revision and grants; never the secret.</summary>
    private static string Context(AccessKeyRecord r) =>
        KeyManager.Json(("access_key_id", r.AccessKeyId), ("revision", r.Revision), ("grants", AccessGrantsJson.Serialize(r.Grants)),
            ("description", r.Description), ("revoked", r.Revoked is not null));
}
