using Coffre.Objects.Lock;

namespace Coffre.Objects.Catalog;

/// <summary>
/// The locks of object versions (S3 Object Lock). A lock is written with its version (<see cref="IObjectCatalog.CommitObjectAsync"/>)
/// or changed later here; <see cref="IObjectCatalog.DeleteVersionAsync"/> refuses, in its own transaction, a version its
/// lock protects, and forgets the lock of a version it deletes.
/// </summary>
public interface IObjectLockCatalog
{
    /// <summary>The lock of an object version; null when it has none (or there is no such version).</summary>
    Task<VersionLock?> GetVersionLockAsync(string bucket, string name, string versionId, CancellationToken ct = default);

    /// <summary>
    /// Replaces an object version's lock with what <paramref name="change"/> makes of the current one (null: none), in one
    /// transaction, so two changes never both judge the same old lock; <paramref name="change"/> throws to refuse.
    /// Null when the version does not exist or is a delete marker.
    /// </summary>
    Task<VersionLock?> UpdateVersionLockAsync(string bucket, string name, string versionId, Func<VersionLock?, VersionLock> change, CancellationToken ct = default);

    /// <summary>Object versions under a key that a lock protects at <paramref name="now"/>, by (bucket, name, version id), at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<LockedVersion>> LockedVersionsUnderKeyAsync(string keyId, DateTimeOffset now, int limit, CancellationToken ct = default);
}

/// <summary>An object version a lock protects (a key destruction's refusal names them).</summary>
public sealed record LockedVersion(string Bucket, string Name, string VersionId, VersionLock Lock);
