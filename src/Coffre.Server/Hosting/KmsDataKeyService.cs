using Coffre.Kms;
using Coffre.Kms.Keys;
using Coffre.Objects;
using Coffre.Objects.Keys;

namespace Coffre.Server.Hosting;

/// <summary>Adapts the key manager to what the object store needs, translating its refusals into object errors.</summary>
public sealed class KmsDataKeyService(KeyManager keys) : IDataKeyService
{
    public DataKeyGrant GenerateDataKey(string keyRef, IReadOnlyDictionary<string, string> context, string principal)
    {
        var pending = Call(() => keys.GenerateDataKeyAuditPending(keyRef, context, principal));
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
            return await keys.UnwrapDataKeyAsync(new WrappedDataKey(wrapped.KeyId, wrapped.KeyVersion, wrapped.Wrapped), context, principal).ConfigureAwait(false);
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

    public string ResolveKeyId(string keyRef) => Call(() => keys.DescribeKey(keyRef, KeyManager.SystemPrincipal).Id);

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
            KmsError.Sealed => ObjectError.Sealed,
            _ => ObjectError.KeyServiceUnavailable, // AuditUnavailable, StoreUnavailable
        };
        return new ObjectStoreException(error, e.Message, e);
    }
}
