using System.Security.Cryptography;
using Coffre.Crypto;
using Coffre.Objects.Catalog;
using Coffre.Objects.Keys;
using Coffre.Storage;

namespace Coffre.Objects.Manifests;

/// <summary>
/// Writes an object version's manifest beside its first part (docs/format.md §12) before the catalog commits it, so
/// that every version the catalog holds can be found again at the backend. A rewrap writes it again, under a fresh
/// data key of the key's primary version: a manifest must stay readable after the old key version is destroyed.
/// </summary>
public sealed class ManifestWriter(IBlobStore blobs, IDataKeyService keys)
{
    /// <summary>Seals and stores the manifest; durable, and its data key's audit record too, when the task completes.</summary>
    public async Task<string> WriteAsync(BucketRecord bucket, ObjectRecord record, string principal, CancellationToken ct)
    {
        var key = ObjectManifest.KeyOf(record.Parts[0].Blob);
        DataKeyGrant grant;
        try
        {
            grant = keys.GenerateDataKey(record.Key.KeyId, ObjectManifest.WrapContext(key), principal);
        }
        catch (AuthenticationFailedException e)
        {
            throw new ObjectStoreException(ObjectError.IntegrityFailure, "The manifest's data key failed authentication.", e);
        }
        try
        {
            var sealedBytes = ObjectManifest.Of(bucket, record).Seal(grant.Wrapped, grant.Plaintext);
            try
            {
                await blobs.PutAsync(key, new MemoryStream(sealedBytes, writable: false), sealedBytes.Length, ObjectManifest.BlobMetadata, ct).ConfigureAwait(false);
            }
            catch (BlobStoreException e)
            {
                ObjectStore.Observe(grant.Recorded);
                throw BackendFailures.OnWrite(e);
            }
            await grant.Recorded.ConfigureAwait(false);
            return key;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(grant.Plaintext);
        }
    }

    /// <summary>Removes the manifest of a version that was not committed after all. Best effort: recovery leaves out a
    /// manifest whose parts are gone.</summary>
    public async Task ForgetAsync(ObjectRecord record)
    {
        try
        {
            await blobs.DeleteAsync(ObjectManifest.KeyOf(record.Parts[0].Blob), CancellationToken.None).ConfigureAwait(false);
        }
        catch (BlobStoreException)
        {
        }
    }
}
