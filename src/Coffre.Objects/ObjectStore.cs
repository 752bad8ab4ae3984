using System.Security.Cryptography;
using Coffre.Crypto;
using Coffre.Objects.Catalog;
using Coffre.Objects.Encryption;
using Coffre.Objects.Integrity;
using Coffre.Objects.Keys;
using Coffre.Objects.Manifests;
using Coffre.Objects.Streams;
using Coffre.Storage;

namespace Coffre.Objects;

/// <summary>
/// Encrypted objects over a blob store: every object gets its own data key, every body and its
/// metadata are sealed before they reach the backend, and the catalog is the single point where a
/// write becomes visible. Knows nothing of HTTP; the S3 face translates to and from it.
/// </summary>
public sealed partial class ObjectStore(
    IObjectCatalog catalog,
    IBlobStore blobs,
    IDataKeyService keys,
    ObjectStoreOptions options,
    TimeProvider time)
{
    public const int MaxPartNumber = 10_000;

    private readonly ManifestWriter _manifests = new(blobs, keys, catalog);

    // ---------------- buckets ----------------

    /// <param name="objectLock">Created with Object Lock (S3's x-amz-bucket-object-lock-enabled): versioning enabled, for good.</param>
    public async Task<BucketRecord> CreateBucketAsync(string name, string principal, string? keyRef = null, CancellationToken ct = default, bool objectLock = false)
    {
        ObjectNames.ValidateBucket(name);
        keyRef ??= options.BucketKeys.GetValueOrDefault(name) ?? options.DefaultKey;
        var keyId = KeyCall(() => keys.ResolveKeyId(keyRef));
        var record = new BucketRecord(name, keyId, time.GetUtcNow()) { Versioning = objectLock ? Versions.BucketVersioning.Enabled : default };
        if (!await catalog.TryCreateBucketAsync(record, ct).ConfigureAwait(false))
            throw new ObjectStoreException(ObjectError.BucketAlreadyExists, $"The bucket '{name}' already exists.");
        if (objectLock) await PutObjectLockConfigurationAsync(name, new Lock.BucketObjectLock(), ct).ConfigureAwait(false);
        return record;
    }

    public async Task<BucketRecord> RequireBucketAsync(string name, CancellationToken ct = default) =>
        await catalog.GetBucketAsync(name, ct).ConfigureAwait(false) ?? throw CatalogRules.NoSuchBucket(name);

    public Task<IReadOnlyList<BucketRecord>> ListBucketsAsync(CancellationToken ct = default) => catalog.ListBucketsAsync(ct);

    /// <summary>
    /// S3's DeleteBucket: refused while any object version or delete marker remains; multipart uploads still in
    /// progress are not objects, so S3 aborts them with the bucket, and so does this.
    /// </summary>
    public async Task DeleteBucketAsync(string name, CancellationToken ct = default)
    {
        await RequireBucketAsync(name, ct).ConfigureAwait(false);
        if (await catalog.TryDeleteEmptyBucketAsync(name, ct).ConfigureAwait(false)) return;
        if ((await catalog.ListVersionsAsync(name, "", null, null, null, 1, ct).ConfigureAwait(false)).Entries.Count == 0)
        {
            foreach (var upload in await catalog.ListUploadsAsync(name, "", ct).ConfigureAwait(false))
                await catalog.AbortUploadAsync(upload.UploadId, ct).ConfigureAwait(false);
            if (await catalog.TryDeleteEmptyBucketAsync(name, ct).ConfigureAwait(false)) return;
        }
        throw new ObjectStoreException(ObjectError.BucketNotEmpty, $"The bucket '{name}' is not empty: delete its objects (every version and delete marker) first.");
    }

    // ---------------- single objects ----------------

    public async Task<ObjectRecord> PutObjectAsync(PutObjectCommand command, CancellationToken ct = default)
    {
        RefuseTooLarge(command.Length);
        var bucket = await RequireBucketAsync(command.Bucket, ct).ConfigureAwait(false);
        ObjectNames.ValidateObject(command.Name);
        await CheckConditionAsync(command.Condition, bucket.Name, command.Name, ct).ConfigureAwait(false);
        var encryption = await PlanEncryptionAsync(bucket, command.Encryption, ct).ConfigureAwait(false);
        var versionLock = await LockForWriteAsync(bucket, command.Lock, ct).ConfigureAwait(false);
        var grant = KeyCall(() => keys.GenerateDataKey(encryption.KeyId, ObjectBinding.WrapContext(bucket.Name, command.Name), command.Principal));
        var contentKey = ContentKey.Derive(grant.Plaintext, command.Encryption?.CustomerKey, encryption.Facts.Context);
        try
        {
            // The data key's audit record commits while the body is encrypted and stored; it must be durable
            // before the object is (no audit, no answer).
            StoredPart written;
            try
            {
                written = await WriteStreamAsync(bucket.Name, command.Name, grant.Wrapped, contentKey, 0,
                    command.Body, command.Length, command.Checksum, command.Verify, ct).ConfigureAwait(false);
            }
            catch
            {
                Observe(grant.Recorded);
                throw;
            }
            try
            {
                await grant.Recorded.ConfigureAwait(false);
            }
            catch
            {
                await AbandonAsync(written.Blob).ConfigureAwait(false);
                throw;
            }
            var metadata = command.Metadata with
            {
                ChecksumAlgorithm = command.Checksum?.S3Name(),
                ChecksumValue = written.Checksum,
                ChecksumType = command.Checksum is null ? null : "FULL_OBJECT",
                Encryption = encryption.Facts,
            };
            var record = new ObjectRecord(bucket.Name, command.Name, written.Size, written.Md5Hex, time.GetUtcNow(),
                grant.Wrapped, metadata.Seal(grant.Plaintext, ObjectBinding.MetadataAssociatedData(bucket.Name, command.Name, grant.Wrapped.KeyId)),
                [written]) { VersionId = NewVersionId(bucket), StorageClass = command.StorageClass };
            try
            {
                await CommitWithManifestAsync(bucket, record, versionLock, command.Principal, () =>
                    catalog.CommitObjectAsync(record, condition: command.Condition, ct: CancellationToken.None, versionLock: versionLock), ct).ConfigureAwait(false);
            }
            catch (ObjectStoreException)
            {
                await AbandonAsync(written.Blob).ConfigureAwait(false);
                throw;
            }
            return record;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(grant.Plaintext);
            CryptographicOperations.ZeroMemory(contentKey);
        }
    }

    /// <summary>The catalog record, without touching the backend or the key manager.</summary>
    public async Task<ObjectRecord> GetRecordAsync(string bucket, string name, CancellationToken ct = default)
    {
        await RequireBucketAsync(bucket, ct).ConfigureAwait(false);
        return await catalog.GetObjectAsync(bucket, name, ct).ConfigureAwait(false)
            ?? throw new ObjectStoreException(ObjectError.NoSuchKey, $"The object '{name}' does not exist in bucket '{bucket}'.");
    }

    /// <summary>Opens an object: the record, its decrypted metadata and a lazy plaintext body for [start, end).
    /// An object written with a customer key (SSE-C) opens only with that key.</summary>
    public async Task<ObjectReader> OpenAsync(ObjectRecord record, string principal, long? start = null, long? endExclusive = null,
        CustomerKey? customerKey = null)
    {
        var from = start ?? 0;
        var to = endExclusive ?? record.Size;
        if (from < 0 || to > record.Size || from > to)
            throw new ObjectStoreException(ObjectError.InvalidRange, $"The range {from}-{to - 1} is outside the object's {record.Size} bytes.");
        var body = new ObjectBodyStream(blobs, record, from, to);
        try
        {
            // The unwrap's audit record commits while the first part's ciphertext is fetched: a GET waits for the
            // longer of the two rather than their sum. Nothing is decrypted, nor answered, before the record is in.
            var unwrap = UnwrapAsync(record.Bucket, record.Name, record.Key, principal);
            body.StartFirstFetch();
            var dataKey = await unwrap.ConfigureAwait(false);
            try
            {
                var metadata = ObjectMetadata.Open(record.SealedMetadata, dataKey,
                    ObjectBinding.MetadataAssociatedData(record.Bucket, record.Name, record.Key.KeyId));
                var contentKey = OpenContentKey(metadata, dataKey, customerKey, record.Name);
                try
                {
                    body.UseDataKey(contentKey);
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(contentKey);
                }
                return new ObjectReader(record, metadata, body, from, to);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(dataKey);
            }
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    public async Task<ObjectMetadata> ReadMetadataAsync(ObjectRecord record, string principal)
    {
        var dataKey = await UnwrapAsync(record.Bucket, record.Name, record.Key, principal).ConfigureAwait(false);
        try
        {
            return ObjectMetadata.Open(record.SealedMetadata, dataKey,
                ObjectBinding.MetadataAssociatedData(record.Bucket, record.Name, record.Key.KeyId));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    public async Task<ListPage> ListAsync(string bucket, string prefix, string? delimiter, string? startAfter, int maxKeys, CancellationToken ct = default)
    {
        await RequireBucketAsync(bucket, ct).ConfigureAwait(false);
        return await catalog.ListObjectsAsync(bucket, prefix, delimiter, startAfter, maxKeys, ct).ConfigureAwait(false);
    }

    /// <summary>Server-side copy: decrypts the source and encrypts it again under the destination's key, name and a new data key.</summary>
    /// <param name="sourceKey">The source's customer key, when it was written with one (SSE-C).</param>
    /// <param name="encryption">What the destination asks; null: the destination bucket's default.</param>
    /// <param name="replaceTags">The copy's tags (S3's tagging directive REPLACE; empty for none); null: the source's, whatever the metadata.</param>
    /// <param name="storageClass">The copy's storage class: S3 gives a copy STANDARD unless the request names another.</param>
    public async Task<ObjectRecord> CopyObjectAsync(ObjectRecord source, string destBucket, string destName, ObjectMetadata? replaceMetadata, string principal,
        CancellationToken ct = default, WriteCondition? condition = null, CustomerKey? sourceKey = null, EncryptionRequest? encryption = null,
        IReadOnlyList<Tagging.ObjectTag>? replaceTags = null, string storageClass = StorageClasses.Standard, Lock.VersionLock? versionLock = null)
    {
        using var reader = await OpenAsync(source, principal, customerKey: sourceKey).ConfigureAwait(false);
        var metadata = replaceMetadata ?? reader.Metadata with { ChecksumAlgorithm = null, ChecksumValue = null, ChecksumType = null };
        metadata = metadata with { Tags = replaceTags is null ? reader.Metadata.Tags : replaceTags.Count > 0 ? replaceTags : null };
        return await PutObjectAsync(new PutObjectCommand(destBucket, destName, reader.Body, source.Size, metadata,
            principal, ParseAlgorithm(reader.Metadata.ChecksumAlgorithm), Condition: condition, Encryption: encryption, StorageClass: storageClass,
            Lock: versionLock), ct).ConfigureAwait(false);
    }

    // ---------------- multipart ----------------

    /// <param name="encryption">What the upload asks; its customer key, if any, must come with every part.</param>
    /// <param name="storageClass">The storage class the completed object will have.</param>
    /// <param name="versionLock">The Object Lock the completed object gets (S3 takes it at CreateMultipartUpload); kept
    /// in the upload's sealed metadata until completion.</param>
    public async Task<UploadRecord> CreateUploadAsync(string bucketName, string name, ObjectMetadata metadata, string principal, CancellationToken ct = default,
        EncryptionRequest? encryption = null, string storageClass = StorageClasses.Standard, Lock.VersionLock? versionLock = null)
    {
        var bucket = await RequireBucketAsync(bucketName, ct).ConfigureAwait(false);
        ObjectNames.ValidateObject(name);
        var plan = await PlanEncryptionAsync(bucket, encryption, ct).ConfigureAwait(false);
        metadata = metadata with { Lock = await LockForWriteAsync(bucket, versionLock, ct).ConfigureAwait(false) };
        var grant = KeyCall(() => keys.GenerateDataKey(plan.KeyId, ObjectBinding.WrapContext(bucket.Name, name), principal));
        try
        {
            await grant.Recorded.ConfigureAwait(false);
            var upload = new UploadRecord(RandomId(), bucket.Name, name, time.GetUtcNow(), grant.Wrapped,
                (metadata with { Encryption = plan.Facts }).Seal(grant.Plaintext, ObjectBinding.MetadataAssociatedData(bucket.Name, name, grant.Wrapped.KeyId)))
                { StorageClass = storageClass };
            await catalog.CreateUploadAsync(upload, ct).ConfigureAwait(false);
            return upload;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(grant.Plaintext);
        }
    }

    public async Task<UploadRecord> RequireUploadAsync(string bucket, string name, string uploadId, CancellationToken ct = default)
    {
        await RequireBucketAsync(bucket, ct).ConfigureAwait(false);
        var upload = await catalog.GetUploadAsync(uploadId, ct).ConfigureAwait(false);
        if (upload is null || upload.Bucket != bucket || upload.Name != name)
            throw new ObjectStoreException(ObjectError.NoSuchUpload, $"The multipart upload '{uploadId}' does not exist: it was completed, aborted, or never created.");
        return upload;
    }

    /// <summary>An upload's parts, by number.</summary>
    public async Task<IReadOnlyList<UploadPartRecord>> ListPartsAsync(string bucket, string name, string uploadId, CancellationToken ct = default)
    {
        var upload = await RequireUploadAsync(bucket, name, uploadId, ct).ConfigureAwait(false);
        return await catalog.ListUploadPartsAsync(upload.UploadId, ct).ConfigureAwait(false);
    }

    /// <summary>A bucket's multipart uploads whose name begins with <paramref name="prefix"/>, in S3 order (name as UTF-8 bytes, then initiation).</summary>
    public async Task<IReadOnlyList<UploadRecord>> ListUploadsAsync(string bucket, string prefix, CancellationToken ct = default)
    {
        await RequireBucketAsync(bucket, ct).ConfigureAwait(false);
        return await catalog.ListUploadsAsync(bucket, prefix, ct).ConfigureAwait(false);
    }

    public async Task<StoredPart> UploadPartAsync(UploadPartCommand command, CancellationToken ct = default)
    {
        if (command.PartNumber is < 1 or > MaxPartNumber)
            throw new ObjectStoreException(ObjectError.InvalidArgument, $"Part number must be an integer between 1 and {MaxPartNumber}.");
        RefuseTooLarge(command.Length);
        var upload = await RequireUploadAsync(command.Bucket, command.Name, command.UploadId, ct).ConfigureAwait(false);
        var dataKey = await UnwrapAsync(upload.Bucket, upload.Name, upload.Key, command.Principal).ConfigureAwait(false);
        byte[] contentKey;
        try
        {
            var metadata = ObjectMetadata.Open(upload.SealedMetadata, dataKey, ObjectBinding.MetadataAssociatedData(upload.Bucket, upload.Name, upload.Key.KeyId));
            contentKey = OpenContentKey(metadata, dataKey, command.CustomerKey, upload.Name);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
        try
        {
            var written = await WriteStreamAsync(upload.Bucket, upload.Name, upload.Key, contentKey, command.PartNumber,
                command.Body, command.Length, command.Checksum, command.Verify, ct).ConfigureAwait(false);
            if (!await catalog.PutUploadPartAsync(upload.UploadId, written, time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false))
            {
                await AbandonAsync(written.Blob).ConfigureAwait(false);
                throw new ObjectStoreException(ObjectError.NoSuchUpload, $"The multipart upload '{upload.UploadId}' was completed or aborted during this part's upload.");
            }
            return written;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(contentKey);
        }
    }

    public async Task<ObjectRecord> CompleteUploadAsync(string bucket, string name, string uploadId, IReadOnlyList<(int Number, string ETag)> requested, string principal,
        WriteCondition? condition = null, CancellationToken ct = default)
    {
        UploadRecord upload;
        try
        {
            upload = await RequireUploadAsync(bucket, name, uploadId, ct).ConfigureAwait(false);
        }
        catch (ObjectStoreException e) when (e.Error == ObjectError.NoSuchUpload)
        {
            // SDKs retry a Complete that timed out: S3 answers a repeat for an upload that already completed with
            // the object it made, not NoSuchUpload, when the same parts are named.
            if (await CompletedWithAsync(bucket, name, requested, ct).ConfigureAwait(false) is { } completed) return completed;
            throw;
        }
        var bucketRecord = await RequireBucketAsync(bucket, ct).ConfigureAwait(false);
        var versionId = NewVersionId(bucketRecord);
        await CheckConditionAsync(condition, bucket, name, ct).ConfigureAwait(false);
        if (requested.Count == 0)
            throw new ObjectStoreException(ObjectError.InvalidArgument, "You must specify at least one part.");
        var stored = (await catalog.ListUploadPartsAsync(uploadId, ct).ConfigureAwait(false)).ToDictionary(p => p.Part.Number, p => p.Part);
        var parts = new List<StoredPart>(requested.Count);
        var previous = 0;
        foreach (var (number, etag) in requested)
        {
            if (number <= previous)
                throw new ObjectStoreException(ObjectError.InvalidPartOrder, "The list of parts was not in ascending order. Parts must be ordered by part number.");
            previous = number;
            if (!stored.TryGetValue(number, out var part) || !string.Equals(part.Md5Hex, etag.Trim('"'), StringComparison.OrdinalIgnoreCase))
                throw new ObjectStoreException(ObjectError.InvalidPart, $"Part {number} was not uploaded, or its ETag does not match the one given.");
            parts.Add(part);
        }
        if (parts.Sum(p => p.Size) is var total && total > options.MaxObjectSize)
            throw new ObjectStoreException(ObjectError.EntityTooLarge, $"The parts add up to {total} bytes; the largest object accepted is {options.MaxObjectSize}.");
        for (var i = 0; i < parts.Count - 1; i++)
            if (parts[i].Size < options.MinimumPartSize)
                throw new ObjectStoreException(ObjectError.EntityTooSmall, $"Part {parts[i].Number} is {parts[i].Size} bytes; every part but the last must be at least {options.MinimumPartSize} bytes.");

        var dataKey = await UnwrapAsync(upload.Bucket, upload.Name, upload.Key, principal).ConfigureAwait(false);
        try
        {
            var metadataAd = ObjectBinding.MetadataAssociatedData(upload.Bucket, upload.Name, upload.Key.KeyId);
            var metadata = ObjectMetadata.Open(upload.SealedMetadata, dataKey, metadataAd);
            var versionLock = metadata.Lock;
            var acl = metadata.Acl;
            metadata = CompositeChecksum(metadata, parts) with { Lock = null, Acl = null };
            var etag = MultipartETag(parts);
            var record = new ObjectRecord(upload.Bucket, upload.Name, parts.Sum(p => p.Size), etag, time.GetUtcNow(),
                upload.Key, metadata.Seal(dataKey, metadataAd), parts) { VersionId = versionId, StorageClass = upload.StorageClass };
            await CommitWithManifestAsync(bucketRecord, record, versionLock, principal,
                () => catalog.CommitObjectAsync(record, uploadId, condition, CancellationToken.None, versionLock), ct).ConfigureAwait(false);
            if (acl is not null) await catalog.SetObjectAclAsync(record.Bucket, record.Name, record.VersionId, acl, CancellationToken.None).ConfigureAwait(false);
            return record;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    /// <summary>The object's current version when a multipart upload made it from exactly these parts (numbers and ETags), or null.</summary>
    private async Task<ObjectRecord?> CompletedWithAsync(string bucket, string name, IReadOnlyList<(int Number, string ETag)> requested, CancellationToken ct)
    {
        var current = await catalog.GetObjectAsync(bucket, name, ct).ConfigureAwait(false);
        if (current is null || !current.ETag.Contains('-', StringComparison.Ordinal) || current.Parts.Count != requested.Count) return null;
        for (var i = 0; i < requested.Count; i++)
            if (current.Parts[i].Number != requested[i].Number
                || !string.Equals(current.Parts[i].Md5Hex, requested[i].ETag.Trim('"'), StringComparison.OrdinalIgnoreCase))
                return null;
        return current;
    }

    public async Task AbortUploadAsync(string bucket, string name, string uploadId, CancellationToken ct = default)
    {
        await RequireUploadAsync(bucket, name, uploadId, ct).ConfigureAwait(false);
        await catalog.AbortUploadAsync(uploadId, ct).ConfigureAwait(false);
    }

    // ---------------- garbage ----------------

    /// <summary>Deletes blobs nothing references any more, once they are older than the grace period (readers of the old version may still be streaming).</summary>
    public async Task<int> CollectGarbageAsync(CancellationToken ct = default)
    {
        var count = 0;
        foreach (var blob in await catalog.GarbageOlderThanAsync(time.GetUtcNow() - options.GarbageGracePeriod, ct).ConfigureAwait(false))
        {
            await blobs.DeleteAsync(blob, ct).ConfigureAwait(false);
            await catalog.ForgetGarbageAsync(blob, ct).ConfigureAwait(false);
            count++;
        }
        return count;
    }

    /// <summary>
    /// Removes the backend's leftovers of interrupted writes (a crash or kill between writing and committing), once older
    /// than the garbage grace period: no write in flight is that old without touching its file.
    /// </summary>
    public Task<BlobRecoveryReport> RecoverBackendAsync(CancellationToken ct = default) => blobs.RecoverAsync(options.GarbageGracePeriod, ct);

    // ---------------- internals ----------------

    private async Task<StoredPart> WriteStreamAsync(string bucket, string name, WrappedKeyRef key, byte[] contentKey, int partNumber,
        Stream body, long? length, ChecksumAlgorithm? checksum, Func<PlaintextDigests, ObjectStoreException?>? verify, CancellationToken ct)
    {
        var blob = $"objects/{RandomId()}"; // hex only: never ends like a sidecar (BlobMetadata.SidecarSuffix)
        await catalog.RecordPendingBlobAsync(blob, ct).ConfigureAwait(false);
        using var digests = new PlaintextDigests(checksum);
        var ad = ObjectBinding.StreamAssociatedData(bucket, name, key.KeyId, partNumber);
        // A body without a length (HTTP chunked) is cut off as soon as it passes the limit; its partial blob becomes garbage.
        await using var source = new ObservedReadStream(body, chunk =>
        {
            digests.Append(chunk);
            if (digests.Length > options.MaxStreamSize) throw TooLarge($"more than {options.MaxStreamSize}");
        }, leaveOpen: true);
        await using var encrypting = new EncryptingStream(source, contentKey, ad, options.SegmentExponent, leaveOpen: true);
        var header = new HeaderCapture();
        await using var capture = new ObservedReadStream(encrypting, header.Observe, leaveOpen: true);
        long? cipherLength = length is { } l ? StreamFormat.CiphertextLength(l, options.SegmentExponent) : null;
        var metadata = BlobMetadata.For(key, partNumber);
        try
        {
            try
            {
                await blobs.PutAsync(blob, capture, cipherLength, metadata, ct).ConfigureAwait(false);
            }
            catch (BlobStoreException e)
            {
                throw BackendFailures.OnWrite(e);
            }
            if (length is { } expected && digests.Length != expected)
                throw new ObjectStoreException(ObjectError.InvalidArgument, $"The body had {digests.Length} bytes but {expected} were announced.");
            if (verify?.Invoke(digests) is { } failure)
                throw failure;
        }
        catch
        {
            // Refused or broken: the blob (if any reached the backend) is garbage from now on.
            await AbandonAsync(blob).ConfigureAwait(false);
            throw;
        }
        return new StoredPart(partNumber, blob, digests.Length, header.Length, header.Header, Convert.ToHexStringLower(digests.Md5()), digests.Checksum());
    }

    /// <summary>
    /// Writes the version's manifest (docs/format.md §12), then commits: the manifest first, so that every version the
    /// catalog ever acknowledged can be recovered from the backend. A manifest not followed by its commit is removed;
    /// if even that fails, recovery leaves it out because its parts are garbage.
    /// </summary>
    private async Task CommitWithManifestAsync(BucketRecord bucket, ObjectRecord record, Lock.VersionLock? versionLock, string principal, Func<Task> commit,
        CancellationToken ct)
    {
        try
        {
            await _manifests.WriteAsync(bucket, record, versionLock, principal, ct).ConfigureAwait(false);
            await commit().ConfigureAwait(false);
        }
        catch (ObjectStoreException)
        {
            await _manifests.ForgetAsync(record).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A body announced too large is refused before anything is read, a data key generated or an audit record written.</summary>
    private void RefuseTooLarge(long? length)
    {
        if (length > options.MaxStreamSize) throw TooLarge(length.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private ObjectStoreException TooLarge(string size) =>
        new(ObjectError.EntityTooLarge, $"The body is {size} bytes; the largest accepted for one PUT or part is {options.MaxStreamSize}.");

    /// <summary>A condition that already fails is refused before the body is read; the commit checks it again, atomically.</summary>
    private async Task CheckConditionAsync(WriteCondition? condition, string bucket, string name, CancellationToken ct)
    {
        if (condition is null) return;
        var current = await catalog.GetObjectAsync(bucket, name, ct).ConfigureAwait(false);
        if (condition.Check(bucket, name, current?.ETag) is { } refused) throw refused;
    }

    /// <summary>
    /// Dates a failed write's blob now, so it is collected after the grace period. Best effort: the failure being
    /// reported matters more, and a blob left pending is still collected, a day later.
    /// </summary>
    private async Task AbandonAsync(string blob)
    {
        try
        {
            await catalog.AbandonPendingBlobAsync(blob, CancellationToken.None).ConfigureAwait(false);
        }
        catch (ObjectStoreException e) when (e.Error == ObjectError.CatalogUnavailable)
        {
        }
    }

    private async Task<byte[]> UnwrapAsync(string bucket, string name, WrappedKeyRef key, string principal)
    {
        try
        {
            return await keys.UnwrapDataKeyAsync(key, ObjectBinding.WrapContext(bucket, name), principal).ConfigureAwait(false);
        }
        catch (AuthenticationFailedException e)
        {
            throw IntegrityFailure(e);
        }
    }

    private static T KeyCall<T>(Func<T> call)
    {
        try
        {
            return call();
        }
        catch (AuthenticationFailedException e)
        {
            throw IntegrityFailure(e);
        }
    }

    private static ObjectStoreException IntegrityFailure(AuthenticationFailedException e) =>
        new(ObjectError.IntegrityFailure, "The object's wrapped data key failed authentication.", e);

    /// <summary>Marks a task's failure as seen when nothing will await it (the operation failed for another reason first).</summary>
    internal static void Observe(Task task) =>
        task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private static ChecksumAlgorithm? ParseAlgorithm(string? name) =>
        ChecksumAlgorithms.TryParse(name, out var a) ? a : null;

    /// <summary>S3's composite checksum: the checksum of the concatenated binary part checksums, then "-" and the part count.</summary>
    private static ObjectMetadata CompositeChecksum(ObjectMetadata metadata, List<StoredPart> parts)
    {
        if (!ChecksumAlgorithms.TryParse(metadata.ChecksumAlgorithm, out var algorithm) || parts.Any(p => p.Checksum is null))
            return metadata with { ChecksumAlgorithm = null, ChecksumValue = null, ChecksumType = null };
        var concatenated = parts.SelectMany(p => Convert.FromBase64String(p.Checksum!)).ToArray();
        var value = Convert.ToBase64String(PlaintextDigests.Compute(algorithm, concatenated)) + "-" + parts.Count;
        return metadata with { ChecksumAlgorithm = algorithm.S3Name(), ChecksumValue = value, ChecksumType = "COMPOSITE" };
    }

    /// <summary>S3's multipart ETag: MD5 of the concatenated binary part MD5s, then "-" and the part count.</summary>
    private static string MultipartETag(List<StoredPart> parts)
    {
        var all = parts.SelectMany(p => Convert.FromHexString(p.Md5Hex)).ToArray();
        return Convert.ToHexStringLower(MD5.HashData(all)) + "-" + parts.Count;
    }

    private static string RandomId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}
