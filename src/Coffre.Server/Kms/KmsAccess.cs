using Coffre.Kms.Keys;
using Coffre.Server.Auth;

namespace Coffre.Server.Kms;

/// <summary>
/// Least privilege for the KMS face: an access key may perform the operations listed in its
/// <c>KmsOperations</c> on the keys listed in its <c>KmsKeys</c> ("*" = all; an entry is a key id,
/// name or alias, resolved at the time of the call, or a key/alias ARN). A refusal is recorded in the audit
/// trail (<see cref="KeyManager.RecordDenied"/>) and answered AccessDeniedException; a restricted
/// principal is never told whether a key it may not use exists.
/// </summary>
public sealed class KmsAccess(KeyManager keys, KmsArn arns)
{
    public void Check(AccessKeyOptions access, string principal, string operation, string? keyRef)
    {
        if (!MayPerform(access, operation))
            throw KmsErrors.From(keys.RecordDenied(operation, keyRef, principal, $"{operation} is not among its KmsOperations"));
        if (keyRef is not null && !MayUseKey(access, keyRef))
            throw KmsErrors.From(keys.RecordDenied(operation, keyRef, principal, "the key is not among its KmsKeys"));
    }

    public static bool MayPerform(AccessKeyOptions access, string operation)
    {
        foreach (var op in access.KmsOperations)
            if (op == "*" || op == "kms:*" || op == operation || (op.StartsWith("kms:", StringComparison.Ordinal) && op.AsSpan(4).SequenceEqual(operation)))
                return true;
        return false;
    }

    public bool MayUseKey(AccessKeyOptions access, string keyRef)
    {
        var allowed = access.KmsKeys;
        if (allowed.Contains("*")) return true;
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

    /// <summary>Whether the key (by id) may be listed to this principal (ListKeys, ListAliases filter, no audit of its own).</summary>
    public bool MayList(AccessKeyOptions access, string keyId) => access.KmsKeys.Contains("*") || MayUseKey(access, keyId);
}
