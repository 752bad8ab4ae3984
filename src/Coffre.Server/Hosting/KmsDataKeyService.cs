using Coffre.Kms;
using Coffre.Kms.Store;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Objects;
using Coffre.Objects.Keys;

namespace Coffre.Server.Hosting;

/// <summary>
/// Adapts the key manager to what the object store needs, translating its refusals into object errors. The data keys
/// it gives and opens serve the S3 face, whose name their audit records carry (<see cref="AuditFace"/>); rewraps are the
/// maintenance job's and name no face.
/// </summary>
public sealed class KmsDataKeyService(KeyManager keys) : IDataKeyService
{
    private static readonly IReadOnlyDictionary<string, string> Face = AuditFace.Recorded(AuditFace.S3);

    public DataKeyGrant GenerateDataKey(string keyRef, IReadOnlyDictionary<string, string> context, string principal, IReadOnlyDictionary<string, string>? recorded = null)
    {
        var members = recorded is null ? Face : new Dictionary<string, string>(recorded, StringComparer.Ordinal) { [AuditFace.ContextMember] = AuditFace.S3 };
        var pending = Call(() => keys.GenerateDataKeyAuditPending(keyRef, context, principal, members));
        using var dk = pending.Value;
        return new DataKeyGrant(dk.Plaintext.ToArray(), new WrappedKeyRef(dk.Wrapped.KeyId, dk.Wrapped.KeyVersion, dk.Wrapped.Blob))
        {
            Recorded = Translate(pending.Recorded),
        };
    }

    private static async Task Translate(Task recorded)
    {
        try
        {
            await recorded.ConfigureAwait(false);
        }
        catch (KmsException e)
        {
            throw Translate(e);
        }
    }

    public async Task<byte[]> UnwrapDataKeyAsync(WrappedKeyRef wrapped, IReadOnlyDictionary<string, string> context, string principal)
    {
        try
        {
            return await keys.UnwrapDataKeyAsync(new WrappedDataKey(wrapped.KeyId, wrapped.KeyVersion, wrapped.Wrapped), context, principal, Face).ConfigureAwait(false);
        }
        catch (KmsException e)
        {
            throw Translate(e);
        }
    }

    public WrappedKeyRef RewrapDataKey(WrappedKeyRef wrapped, IReadOnlyDictionary<string, string> context, string principal)
    {
        var w = Call(() => keys.RewrapDataKey(new WrappedDataKey(wrapped.KeyId, wrapped.KeyVersion, wrapped.Wrapped), context, principal));
        return new WrappedKeyRef(w.KeyId, w.KeyVersion, w.Blob);
    }

    /// <summary>The key's id, if it can protect objects: a bucket or a write naming an RSA key is refused here, before
    /// any object is written, rather than by every later PUT.</summary>
    public string ResolveKeyId(string keyRef)
    {
        var key = Call(() => keys.DescribeKey(keyRef, KeyManager.SystemPrincipal));
        if (key.Spec.IsRsa())
            throw new ObjectStoreException(ObjectError.KeyInvalidUsage,
                $"The key '{key.Name}' is an {StoredNames.Text(key.Spec)} key: objects are protected by symmetric keys ({StoredNames.Text(KeySpec.SymmetricDefault)}); name another key.");
        return key.Id;
    }

    public int PrimaryVersion(string keyRef) => keys.TryPrimaryVersion(keyRef)
        ?? throw new ObjectStoreException(ObjectError.KeyInvalidState, $"The key '{keyRef}' does not exist in this key store.");

    public bool IsEnabled(string keyRef) => keys.IsEnabled(keyRef);

    private static T Call<T>(Func<T> call)
    {
        try
        {
            return call();
        }
        catch (KmsException e)
        {
            throw Translate(e);
        }
    }

    private static ObjectStoreException Translate(KmsException e)
    {
        var error = e.Error switch
        {
            KmsError.Disabled => ObjectError.KeyDisabled,
            KmsError.NotFound or KmsError.PendingDestruction or KmsError.Destroyed or KmsError.VersionNotUsable => ObjectError.KeyInvalidState,
            KmsError.InvalidCiphertext => ObjectError.IntegrityFailure,
            KmsError.InvalidKeyUsage => ObjectError.KeyInvalidUsage,
            KmsError.Sealed => ObjectError.Sealed,
            _ => ObjectError.KeyServiceUnavailable, // AuditUnavailable, StoreUnavailable
        };
        return new ObjectStoreException(error, e.Message, e);
    }
}
