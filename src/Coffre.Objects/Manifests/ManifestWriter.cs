using System.Security.Cryptography;
using Coffre.Crypto;
using Coffre.Objects.Catalog;
using Coffre.Objects.Keys;
using Coffre.Objects.Lock;
using Coffre.Storage;

namespace Coffre.Objects.Manifests;

/// <summary>
/// Writes an object version's manifest beside its first part (docs/format.md §12) before the catalog commits it, so
/// that every version the catalog holds can be found again at the backend. A rewrap writes it again, under a fresh
/// data key of the key's primary version: a manifest must stay readable after the old key version is destroyed.
/// A change of the version's tags or lock writes it again too (<see cref="RefreshAsync"/>), so recovery restores them.
/// </summary>
public sealed class ManifestWriter(IBlobStore blobs, IDataKeyService keys, IObjectCatalog catalog)
{
    /// <summary>Seals and stores the manifest; durable, and its data key's audit record too, when the task completes.
    /// A manifest already there is replaced whole (one blob PUT): a crash leaves the old one or the new, never neither.</summary>
    public async Task<string> WriteAsync(BucketRecord bucket, ObjectRecord record, VersionLock? versionLock, string principal, CancellationToken ct)
    {
        var key = ObjectManifest.KeyOf(record.Parts[0].Blob);
        DataKeyGrant grant;
        try
        {
            grant = keys.GenerateDataKey(record.Key.KeyId, ObjectManifest.WrapContext(key), principal, ObjectManifest.AuditedAs(record));
        }
        catch (AuthenticationFailedException e)
        {
            throw new ObjectStoreException(ObjectError.IntegrityFailure, "The manifest's data key failed authentication.", e);
        }
        try
        {
            var sealedBytes = ObjectManifest.Of(bucket, record, versionLock).Seal(grant.Wrapped, grant.Plaintext);
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

    /// <summary>
    /// Writes the manifest of one version again from what the catalog holds now (its sealed metadata with the tags, its
    /// lock), after a change the catalog has committed. Read after the commit, so concurrent changes of one version
    /// leave the manifest of the last one. A version deleted meanwhile has nothing to refresh.
    /// </summary>
    public async Task RefreshAsync(string bucket, string name, string versionId, string principal, CancellationToken ct)
    {
        if (await catalog.GetBucketAsync(bucket, ct).ConfigureAwait(false) is not { } bucketRecord
            || (await catalog.GetVersionAsync(bucket, name, versionId, ct).ConfigureAwait(false))?.Record is not { } record)
            return;
        var versionLock = await catalog.GetVersionLockAsync(bucket, name, versionId, ct).ConfigureAwait(false);
        await WriteAsync(bucketRecord, record, versionLock, principal, ct).ConfigureAwait(false);
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
