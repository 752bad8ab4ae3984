using Coffre.Objects.Keys;

namespace Coffre.Objects.Catalog;

/// <summary>
/// Coffre's own record of every bucket, object and multipart upload: it answers HEAD and listings without
/// touching the provider, says which objects a key version protects, holds each stream's header so a provider
/// cannot serve an older or another object's ciphertext, and lists the blobs nothing references any more.
/// Implementations (SQLite, PostgreSQL) live outside this project and all pass ObjectCatalogContractTests.
/// </summary>
/// <remarks>
/// Every write is durable when its task completes. Failures are <see cref="ObjectStoreException"/>s: the
/// preconditions' own errors, and <see cref="ObjectError.CatalogUnavailable"/> when the database cannot be
/// reached or written (nothing half-written: each call is one transaction). Object names are ordered by their
/// UTF-8 bytes, S3's listing order.
/// </remarks>
public interface IObjectCatalog : IBucketSettingsCatalog, IObjectLockCatalog, IObjectAclCatalog
{
    // ---- buckets ----

    /// <summary>False when a bucket of that name already exists.</summary>
    Task<bool> TryCreateBucketAsync(BucketRecord bucket, CancellationToken ct = default);

    Task<BucketRecord?> GetBucketAsync(string name, CancellationToken ct = default);

    /// <summary>Every bucket, by name.</summary>
    Task<IReadOnlyList<BucketRecord>> ListBucketsAsync(CancellationToken ct = default);

    /// <summary>Deletes an empty bucket; false when it still holds object versions, delete markers or uploads.</summary>
    Task<bool> TryDeleteEmptyBucketAsync(string name, CancellationToken ct = default);

    /// <summary>The bucket's default encryption; null when none was set. Deleting the bucket deletes it.</summary>
    Task<Encryption.BucketEncryption?> GetBucketEncryptionAsync(string bucket, CancellationToken ct = default);

    /// <summary>Sets the bucket's default encryption, or removes it with null.</summary>
    Task SetBucketEncryptionAsync(string bucket, Encryption.BucketEncryption? encryption, CancellationToken ct = default);

    /// <summary>The bucket's tags (S3 bucket tagging), in the order set; null when none were set. Deleting the bucket deletes them.</summary>
    Task<IReadOnlyList<Tagging.ObjectTag>?> GetBucketTagsAsync(string bucket, CancellationToken ct = default);

    /// <summary>Replaces the bucket's tags, or removes them with null.</summary>
    Task SetBucketTagsAsync(string bucket, IReadOnlyList<Tagging.ObjectTag>? tags, CancellationToken ct = default);

    // ---- objects ----

    /// <summary>Sets a bucket's versioning state; false when the bucket does not exist.</summary>
    Task<bool> SetBucketVersioningAsync(string bucket, Versions.BucketVersioning state, CancellationToken ct = default);

    /// <summary>
    /// Makes <paramref name="record"/> the latest version of its object, atomically. A record of version "null"
    /// replaces the name's null version, if any, whose blobs (parts and sidecar) become garbage; a record of any other
    /// version is added beside the existing versions. The new blobs stop being garbage in the same transaction;
    /// with <paramref name="completedUploadId"/>, that upload is removed and its parts left out of the object
    /// become garbage. <paramref name="condition"/> is checked against the current version in the same
    /// transaction against the current object (none when the latest version is a delete marker), so two conditional
    /// writes of one name never both win, on one instance or several.
    /// Refused with NoSuchBucket when the bucket is gone, and, for a completed upload, NoSuchUpload when the upload
    /// was completed or aborted meanwhile and InvalidPart when one of the record's parts is no longer the upload's.
    /// With <paramref name="versionLock"/>, the version is committed locked (Object Lock), in the same transaction.
    /// </summary>
    Task CommitObjectAsync(ObjectRecord record, string? completedUploadId = null, WriteCondition? condition = null, CancellationToken ct = default,
        Lock.VersionLock? versionLock = null);

    /// <summary>
    /// Removes one version (object or delete marker) of a name; an object version's blobs (parts and sidecar) become
    /// garbage, and when it was the latest, the next most recent version becomes the latest. Null when there was none.
    /// A version its lock protects now (<see cref="Lock.VersionLock.DeleteRefusal"/>, judged on the catalog's clock in the
    /// same transaction) is refused with ObjectLocked; <paramref name="bypassGovernance"/> lifts a governance retention.
    /// </summary>
    Task<VersionEntry?> DeleteVersionAsync(string bucket, string name, string versionId, CancellationToken ct = default, bool bypassGovernance = false);

    /// <summary>
    /// Makes a delete marker, <paramref name="versionId"/>, the latest version of a name, in the bucket's
    /// existing versions. A "null" marker replaces the null version (whose blobs become garbage). Refused with
    /// NoSuchBucket when the bucket is gone.
    /// </summary>
    Task CommitDeleteMarkerAsync(string bucket, string name, string versionId, DateTimeOffset modified, CancellationToken ct = default);

    /// <summary>One version of a name, or with <paramref name="versionId"/> null its latest version (which may be a delete marker).</summary>
    Task<VersionEntry?> GetVersionAsync(string bucket, string name, string? versionId, CancellationToken ct = default);

    /// <summary>
    /// ListObjectVersions: every version of the names that begin with <paramref name="prefix"/>, in name order and
    /// newest first within a name, after (<paramref name="keyMarker"/>, <paramref name="versionIdMarker"/>):
    /// without a version-id marker, after every version of the key marker. Delimiter roll-up as in
    /// <see cref="ListObjectsAsync"/>. Refused with InvalidArgument when the version-id marker names no version.
    /// </summary>
    Task<VersionPage> ListVersionsAsync(string bucket, string prefix, string? delimiter, string? keyMarker, string? versionIdMarker, int maxKeys, CancellationToken ct = default);

    /// <summary>
    /// Lists current objects (latest versions that are not delete markers) in S3 order: keys after <paramref name="startAfter"/> (exclusive) that begin with
    /// <paramref name="prefix"/>; with a delimiter, keys sharing the text up to the first delimiter after the
    /// prefix are rolled up into one common prefix, which counts as one entry.
    /// </summary>
    Task<ListPage> ListObjectsAsync(string bucket, string prefix, string? delimiter, string? startAfter, int maxKeys, CancellationToken ct = default);

    /// <summary>The object versions a key (or one of its versions) protects, by (bucket, name): a name appears once per object version.</summary>
    Task<IReadOnlyList<(string Bucket, string Name, int Version)>> ObjectsUnderKeyAsync(string keyId, int? version = null, CancellationToken ct = default);

    /// <summary>Key ids that protect at least one object, in order.</summary>
    Task<IReadOnlyList<string>> KeysInUseAsync(CancellationToken ct = default);

    /// <summary>Objects per (key id, version).</summary>
    Task<IReadOnlyDictionary<(string KeyId, int Version), long>> CountByKeyVersionAsync(CancellationToken ct = default);

    /// <summary>Object versions of a key wrapped under a key version older than <paramref name="version"/>, in (bucket, name, version id) order after <paramref name="after"/>.</summary>
    Task<IReadOnlyList<ObjectRecord>> ObjectsBelowVersionAsync(string keyId, int version, string? bucket, (string Bucket, string Name, string VersionId)? after, int limit, CancellationToken ct = default);

    Task<long> CountBelowVersionAsync(string keyId, int version, string? bucket, CancellationToken ct = default);

    /// <summary>
    /// Replaces an object version's wrapped data key only if a version of that name still holds <paramref name="expected"/>
    /// (a wrapped data key belongs to one version only): a version deleted meanwhile is left alone. False then.
    /// </summary>
    Task<bool> ReplaceWrappedKeyAsync(string bucket, string name, WrappedKeyRef expected, WrappedKeyRef replacement, CancellationToken ct = default);

    /// <summary>
    /// Replaces one object version's sealed metadata (new tags) only if it still holds <paramref name="expected"/>: a
    /// concurrent change, or the version replaced or deleted meanwhile, leaves it alone. False then.
    /// </summary>
    Task<bool> ReplaceSealedMetadataAsync(string bucket, string name, string versionId, byte[] expected, byte[] replacement, CancellationToken ct = default);

    // ---- multipart uploads ----

    Task CreateUploadAsync(UploadRecord upload, CancellationToken ct = default);

    Task<UploadRecord?> GetUploadAsync(string uploadId, CancellationToken ct = default);

    /// <summary>A bucket's uploads whose name begins with <paramref name="prefix"/>, by name (UTF-8 bytes), then creation, then id.</summary>
    Task<IReadOnlyList<UploadRecord>> ListUploadsAsync(string bucket, string prefix, CancellationToken ct = default);

    /// <summary>Records a part; a part uploaded again under the same number replaces the earlier one, whose blob
    /// becomes garbage. False when the upload no longer exists (completed or aborted meanwhile).</summary>
    Task<bool> PutUploadPartAsync(string uploadId, StoredPart part, DateTimeOffset modified, CancellationToken ct = default);

    /// <summary>An upload's parts, by number.</summary>
    Task<IReadOnlyList<UploadPartRecord>> ListUploadPartsAsync(string uploadId, CancellationToken ct = default);

    /// <summary>Forgets an upload; its parts' blobs become garbage. False when there was none.</summary>
    Task<bool> AbortUploadAsync(string uploadId, CancellationToken ct = default);

    // ---- garbage ----

    /// <summary>Called before a blob is written: if the writer dies before the blob is referenced, it is collected
    /// later. Dated a day ahead, so a write in flight outlives the garbage grace period.</summary>
    Task RecordPendingBlobAsync(string blob, CancellationToken ct = default);

    /// <summary>A write that failed will never reference its blob: dated now, so it is collected after the grace
    /// period rather than the day a write in flight gets.</summary>
    Task AbandonPendingBlobAsync(string blob, CancellationToken ct = default);

    /// <summary>Garbage blobs dated before <paramref name="olderThan"/> (younger ones may belong to a write still in flight).</summary>
    Task<IReadOnlyList<string>> GarbageOlderThanAsync(DateTimeOffset olderThan, CancellationToken ct = default);

    /// <summary>Forgets a garbage blob the caller has deleted (a blob listed as old garbage is never referenced
    /// again: docs/architecture.md, "Garbage with several instances").</summary>
    Task ForgetGarbageAsync(string blob, CancellationToken ct = default);
}
