using Coffre.Objects.Catalog;
using Coffre.Objects.Lock;
using Coffre.Objects.Versions;

namespace Coffre.Objects;

/// <summary>
/// S3 Object Lock: a bucket created with it keeps every version (versioning enabled, never suspended); each version may
/// carry a retention (GOVERNANCE or COMPLIANCE, until a date) and a legal hold, and the catalog refuses to delete a
/// version they protect. A DELETE without a version id still adds a delete marker, as S3 does: nothing is lost by it.
/// </summary>
public sealed partial class ObjectStore
{
    /// <summary>The bucket's Object Lock configuration; null when the bucket was not created with Object Lock.</summary>
    public async Task<BucketObjectLock?> GetObjectLockConfigurationAsync(string bucket, CancellationToken ct = default)
    {
        await RequireBucketAsync(bucket, ct).ConfigureAwait(false);
        return await catalog.GetBucketSettingAsync(bucket, BucketObjectLock.Setting, ct).ConfigureAwait(false) is { } json ? BucketObjectLock.FromJson(json) : null;
    }

    /// <summary>
    /// Enables Object Lock on a bucket and sets its default retention. S3 requires versioning to be enabled first
    /// (CreateBucket with Object Lock enables it); once enabled, Object Lock cannot be turned off.
    /// </summary>
    public async Task PutObjectLockConfigurationAsync(string bucket, BucketObjectLock configuration, CancellationToken ct = default)
    {
        var record = await RequireBucketAsync(bucket, ct).ConfigureAwait(false);
        if (record.Versioning != BucketVersioning.Enabled)
            throw new ObjectStoreException(ObjectError.InvalidBucketState,
                $"Versioning must be 'Enabled' on the bucket '{bucket}' to apply an Object Lock configuration: enable versioning first.");
        if (!await catalog.SetBucketSettingAsync(bucket, BucketObjectLock.Setting, configuration.ToJson(), ct).ConfigureAwait(false))
            throw CatalogRules.NoSuchBucket(bucket);
    }

    /// <summary>An object version's lock (<see cref="VersionLock.None"/> when it has none); the latest version when <paramref name="versionId"/> is null.</summary>
    public async Task<(string VersionId, VersionLock Lock)> GetVersionLockAsync(string bucket, string name, string? versionId, CancellationToken ct = default)
    {
        await RequireObjectLockAsync(bucket, ct).ConfigureAwait(false);
        var id = await ObjectVersionIdAsync(bucket, name, versionId, ct).ConfigureAwait(false);
        return (id, await catalog.GetVersionLockAsync(bucket, name, id, ct).ConfigureAwait(false) ?? VersionLock.None);
    }

    /// <summary>The lock of the version <paramref name="record"/> is, or null when it has none (what GET and HEAD answer).</summary>
    public Task<VersionLock?> LockOfAsync(ObjectRecord record, CancellationToken ct = default) =>
        catalog.GetVersionLockAsync(record.Bucket, record.Name, record.VersionId, ct);

    /// <summary>
    /// PutObjectRetention: sets, extends, shortens or (with both null) removes a version's retention. Extending is always
    /// allowed; shortening or removing is refused under COMPLIANCE, and under GOVERNANCE without <paramref name="bypassGovernance"/>.
    /// </summary>
    public async Task<VersionLock> PutRetentionAsync(string bucket, string name, string? versionId, ObjectLockMode? mode, DateTimeOffset? retainUntil,
        bool bypassGovernance, string principal, CancellationToken ct = default)
    {
        await RequireObjectLockAsync(bucket, ct).ConfigureAwait(false);
        if ((mode is null) != (retainUntil is null))
            throw new ObjectStoreException(ObjectError.InvalidArgument, "A retention needs both a mode and a retain-until date (or neither, to remove it).");
        if (retainUntil <= time.GetUtcNow())
            throw new ObjectStoreException(ObjectError.InvalidArgument, "The retain until date must be in the future!");
        return await UpdateLockAsync(bucket, name, versionId, current =>
        {
            if (current.RetentionChangeRefusal(mode, retainUntil, time.GetUtcNow(), bypassGovernance) is { } refused) throw refused;
            return current with { Mode = mode, RetainUntil = retainUntil };
        }, principal, ct).ConfigureAwait(false);
    }

    /// <summary>PutObjectLegalHold: places or removes a version's legal hold (no grant beyond writing the bucket, as in S3).</summary>
    public async Task<VersionLock> PutLegalHoldAsync(string bucket, string name, string? versionId, bool on, string principal, CancellationToken ct = default)
    {
        await RequireObjectLockAsync(bucket, ct).ConfigureAwait(false);
        return await UpdateLockAsync(bucket, name, versionId, current => current with { LegalHold = on }, principal, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The lock a new version of <paramref name="bucket"/> is written with: what the write asks (its retention, its legal
    /// hold), else the bucket's default retention; null in a bucket without Object Lock, where asking for one is refused.
    /// </summary>
    private async Task<VersionLock?> LockForWriteAsync(BucketRecord bucket, VersionLock? requested, CancellationToken ct)
    {
        var json = await catalog.GetBucketSettingAsync(bucket.Name, BucketObjectLock.Setting, ct).ConfigureAwait(false);
        if (json is null)
            return requested is null ? null : throw LockNotEnabled(bucket.Name);
        var now = time.GetUtcNow();
        if (requested?.Mode is not null)
        {
            if (requested.RetainUntil <= now)
                throw new ObjectStoreException(ObjectError.InvalidArgument, "The retain until date must be in the future!");
            return requested;
        }
        return BucketObjectLock.FromJson(json).DefaultFor(now, requested?.LegalHold ?? false);
    }

    /// <summary>Changes a version's lock in the catalog, then writes its manifest again (docs/format.md §12) before the
    /// answer: a recovered catalog keeps the retention and legal hold a client was last told of.</summary>
    private async Task<VersionLock> UpdateLockAsync(string bucket, string name, string? versionId, Func<VersionLock, VersionLock> change, string principal,
        CancellationToken ct)
    {
        var id = await ObjectVersionIdAsync(bucket, name, versionId, ct).ConfigureAwait(false);
        var updated = await catalog.UpdateVersionLockAsync(bucket, name, id, current => change(current ?? VersionLock.None), ct).ConfigureAwait(false)
            ?? throw new ObjectStoreException(ObjectError.NoSuchVersion, $"The object '{name}' in bucket '{bucket}' has no version '{id}' (deleted meanwhile?).");
        await _manifests.RefreshAsync(bucket, name, id, principal, ct).ConfigureAwait(false);
        return updated;
    }

    /// <summary>The version a lock request names: the one given, or the latest; a delete marker has no lock (405 in S3).</summary>
    private async Task<string> ObjectVersionIdAsync(string bucket, string name, string? versionId, CancellationToken ct)
    {
        var (_, entry) = await GetVersionAsync(bucket, name, versionId, ct).ConfigureAwait(false);
        if (entry.IsDeleteMarker)
            throw versionId is null
                ? new ObjectStoreException(ObjectError.NoSuchKey, $"The object '{name}' does not exist in bucket '{bucket}' (its latest version is a delete marker).")
                : new ObjectStoreException(ObjectError.InvalidArgument, $"The version '{versionId}' of '{name}' is a delete marker, which has no lock.");
        return entry.VersionId;
    }

    private async Task RequireObjectLockAsync(string bucket, CancellationToken ct)
    {
        if (await GetObjectLockConfigurationAsync(bucket, ct).ConfigureAwait(false) is null) throw LockNotEnabled(bucket);
    }

    private static ObjectStoreException LockNotEnabled(string bucket) =>
        new(ObjectError.ObjectLockNotEnabled, $"Bucket is missing Object Lock Configuration: the bucket '{bucket}' was not created with Object Lock.");
}
