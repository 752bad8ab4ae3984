using Coffre.Objects.Catalog;
using Coffre.Objects.Versions;

namespace Coffre.Objects;

/// <summary>S3 versioning over the catalog's versions: which version a write makes, deletes and delete markers, lookups by version id.</summary>
public sealed partial class ObjectStore
{
    /// <summary>Enables or suspends versioning; a bucket cannot return to unversioned (S3 has no such request).</summary>
    public async Task SetVersioningAsync(string bucket, BucketVersioning state, CancellationToken ct = default)
    {
        if (state == BucketVersioning.Unversioned)
            throw new ObjectStoreException(ObjectError.InvalidArgument, "Versioning can be Enabled or Suspended; a bucket never returns to unversioned.");
        await RequireBucketAsync(bucket, ct).ConfigureAwait(false);
        if (state != BucketVersioning.Enabled && await catalog.GetBucketSettingAsync(bucket, Lock.BucketObjectLock.Setting, ct).ConfigureAwait(false) is not null)
            throw new ObjectStoreException(ObjectError.InvalidBucketState,
                $"An Object Lock configuration is present on the bucket '{bucket}', so the versioning state cannot be changed.");
        if (!await catalog.SetBucketVersioningAsync(bucket, state, ct).ConfigureAwait(false))
            throw CatalogRules.NoSuchBucket(bucket);
    }

    /// <summary>
    /// A version of an object (its latest when <paramref name="versionId"/> is null), with its bucket. The entry may be
    /// a delete marker: S3 answers those differently (404 for the latest, 405 for one named), so the caller decides.
    /// NoSuchKey when the name has no version at all, NoSuchVersion when the version named is not one of its versions.
    /// </summary>
    public async Task<(BucketRecord Bucket, VersionEntry Entry)> GetVersionAsync(string bucket, string name, string? versionId, CancellationToken ct = default)
    {
        var record = await RequireBucketAsync(bucket, ct).ConfigureAwait(false);
        if (versionId is not null) RequireWellFormed(versionId);
        var entry = await catalog.GetVersionAsync(bucket, name, versionId, ct).ConfigureAwait(false);
        if (entry is null && versionId is not null)
            throw new ObjectStoreException(ObjectError.NoSuchVersion, $"The object '{name}' in bucket '{bucket}' has no version '{versionId}'.");
        return (record, entry ?? throw new ObjectStoreException(ObjectError.NoSuchKey, $"The object '{name}' does not exist in bucket '{bucket}'."));
    }

    /// <summary>
    /// S3's DeleteObject. With a version id: removes that version (object or delete marker), permanently; a version that
    /// does not exist is not an error. Without: in an unversioned bucket, removes the object; in a versioned bucket,
    /// adds a delete marker over the object's versions; in a suspended one, a delete marker that replaces the null
    /// version. Deleting a missing object succeeds, as in S3. A version Object Lock protects is refused with ObjectLocked
    /// (<paramref name="bypassGovernance"/>: a governance retention does not protect it from this caller).
    /// </summary>
    public async Task<DeleteOutcome> DeleteObjectAsync(string bucket, string name, string? versionId = null, CancellationToken ct = default, bool bypassGovernance = false)
    {
        var record = await RequireBucketAsync(bucket, ct).ConfigureAwait(false);
        if (versionId is not null)
        {
            RequireWellFormed(versionId);
            var removed = await catalog.DeleteVersionAsync(bucket, name, versionId, ct, bypassGovernance).ConfigureAwait(false);
            await ForgetManifestAsync(removed).ConfigureAwait(false);
            return new DeleteOutcome(versionId, removed?.IsDeleteMarker ?? false);
        }
        if (record.Versioning == BucketVersioning.Unversioned)
        {
            await ForgetManifestAsync(await catalog.DeleteVersionAsync(bucket, name, VersionIds.Null, ct).ConfigureAwait(false)).ConfigureAwait(false);
            return new DeleteOutcome(null, false);
        }
        var marker = NewVersionId(record);
        await catalog.CommitDeleteMarkerAsync(bucket, name, marker, time.GetUtcNow(), ct).ConfigureAwait(false);
        return new DeleteOutcome(marker, true);
    }

    public async Task<VersionPage> ListVersionsAsync(string bucket, string prefix, string? delimiter, string? keyMarker, string? versionIdMarker, int maxKeys, CancellationToken ct = default)
    {
        await RequireBucketAsync(bucket, ct).ConfigureAwait(false);
        if (versionIdMarker is not null)
        {
            if (keyMarker is null)
                throw new ObjectStoreException(ObjectError.InvalidArgument, "A version-id marker cannot be specified without a key marker.");
            RequireWellFormed(versionIdMarker);
        }
        return await catalog.ListVersionsAsync(bucket, prefix, delimiter, keyMarker, versionIdMarker, maxKeys, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// A deleted version's manifest goes at once, not with its parts after the garbage grace period: a catalog recovered
    /// meanwhile would otherwise bring the version back.
    /// </summary>
    private async Task ForgetManifestAsync(VersionEntry? removed)
    {
        if (removed?.Record is { } record) await _manifests.ForgetAsync(record).ConfigureAwait(false);
    }

    /// <summary>The version a write into <paramref name="bucket"/> makes: a new one when versioning is enabled, else the null version (replaced).</summary>
    private string NewVersionId(BucketRecord bucket) =>
        bucket.Versioning == BucketVersioning.Enabled ? VersionIds.New(time) : VersionIds.Null;

    private static void RequireWellFormed(string versionId)
    {
        if (!VersionIds.IsWellFormed(versionId))
            throw new ObjectStoreException(ObjectError.InvalidArgument, $"Invalid version id specified: '{versionId}' is not a version id of this service.");
    }
}
