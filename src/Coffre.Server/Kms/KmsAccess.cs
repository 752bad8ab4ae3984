using Coffre.Kms.Access;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;

namespace Coffre.Server.Kms;

/// <summary>
/// Least privilege for the KMS face, default deny: each operation needs the grant <see cref="KmsPermissions"/> names
/// for it. Use (<c>KmsKeys</c>, narrowed by <c>KmsOperations</c>) never allows administration (<c>KmsAdminKeys</c>),
/// and administration allows metadata reads but no cryptographic use. A key entry is a key id, name or alias,
/// resolved at the time of the call, or a key/alias ARN; "*" is every key. A refusal is recorded in the audit trail
/// (<see cref="KeyManager.RecordDenied"/>) and answered AccessDeniedException; a restricted principal is never
/// told whether a key it may not use exists.
/// </summary>
public sealed class KmsAccess(KeyManager keys, KmsArn arns)
{
    /// <summary>Completes at once when allowed; when refused, once the refusal is recorded, with AccessDenied.</summary>
    /// <param name="face">The face asking, named in the refusal's audit record (the S3 face checks SSE-KMS keys here too).</param>
    public ValueTask CheckAsync(AccessGrants access, string principal, string operation, string? keyRef, string face = AuditFace.Kms)
    {
        var permission = KmsPermissions.Of(operation);
        var mayUse = access.KmsKeys.Count > 0 && KmsPermissions.Allows(access.KmsOperations, operation);
        var reason = permission switch
        {
            KmsPermission.CreateKey => access.KmsAdminKeys.Contains(AccessGrants.Any) ? null : "creating keys needs KmsAdminKeys [\"*\"]",
            KmsPermission.Admin when keyRef is null => access.KmsAdminKeys.Count > 0 ? null : "it has no KmsAdminKeys",
            KmsPermission.Admin => MatchesKey(access.KmsAdminKeys, keyRef) ? null : "the key is not among its KmsAdminKeys (administration is granted apart from use)",
            KmsPermission.Use when !mayUse => $"{operation} is not granted by its KmsKeys and KmsOperations",
            KmsPermission.Read when !mayUse && access.KmsAdminKeys.Count == 0 => $"{operation} is not granted by its KmsKeys and KmsOperations, nor by KmsAdminKeys",
            _ when keyRef is null => null,
            KmsPermission.Use => MatchesKey(access.KmsKeys, keyRef) ? null : "the key is not among its KmsKeys",
            _ => (mayUse && MatchesKey(access.KmsKeys, keyRef)) || MatchesKey(access.KmsAdminKeys, keyRef) ? null : "the key is not among its KmsKeys or KmsAdminKeys",
        };
        return reason is null ? ValueTask.CompletedTask : DenyAsync(operation, keyRef, principal, reason, face);
    }

    private async ValueTask DenyAsync(string operation, string? keyRef, string principal, string reason, string face) =>
        throw KmsErrors.From(await keys.RecordDeniedAsync(operation, keyRef, principal, reason,
            EncryptionContext.Json(null, AuditFace.Recorded(face))).ConfigureAwait(false));

    /// <summary>Whether the key (by id) may be listed to this principal, once the listing itself was allowed by <see cref="CheckAsync"/>
    /// (ListKeys, ListAliases filter, no audit of its own): a key it may use or administer.</summary>
    public bool MayList(AccessGrants access, string keyId) => MatchesKey(access.KmsKeys, keyId) || MatchesKey(access.KmsAdminKeys, keyId);

    private bool MatchesKey(IReadOnlyList<string> allowed, string keyRef)
    {
        if (allowed.Count == 0) return false;
        if (allowed.Contains(AccessGrants.Any)) return true;
        var id = keys.TryResolveKeyId(keyRef);
        if (id is null) return false;
        foreach (var entry in allowed)
        {
            string entryRef;
            try
            {
                entryRef = arns.ToKeyRef(entry);
            }
            catch (KmsFaceException)
            {
                continue;
            }
            if (string.Equals(entryRef, id, StringComparison.OrdinalIgnoreCase) || keys.TryResolveKeyId(entryRef) == id) return true;
        }
        return false;
    }
}
