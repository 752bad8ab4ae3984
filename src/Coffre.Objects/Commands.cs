using Coffre.Objects.Catalog;
using Coffre.Objects.Encryption;
using Coffre.Objects.Integrity;

namespace Coffre.Objects;

/// <summary>
/// A PUT: the plaintext body (read once, streamed), its announced length when known, the metadata
/// to seal, and the integrity check to run on the plaintext digests once the body has been read
/// (Content-MD5, a checksum header or trailer) — before the object becomes visible. <see cref="Lock"/>: the
/// Object Lock the write asks (its mode and date null: the bucket's default retention).
/// </summary>
public sealed record PutObjectCommand(
    string Bucket,
    string Name,
    Stream Body,
    long? Length,
    ObjectMetadata Metadata,
    string Principal,
    ChecksumAlgorithm? Checksum = null,
    Func<PlaintextDigests, ObjectStoreException?>? Verify = null,
    WriteCondition? Condition = null,
    EncryptionRequest? Encryption = null,
    string StorageClass = StorageClasses.Standard,
    Lock.VersionLock? Lock = null);

/// <summary>
/// S3's conditional writes: <see cref="IfMatch"/> (an ETag, or "*") requires the current object to exist with
/// that ETag; <see cref="IfNoneMatch"/> requires that no object exists. Checked before the body is read and
/// again, atomically, when the new version is committed.
/// </summary>
public sealed record WriteCondition(string? IfMatch, bool IfNoneMatch)
{
    /// <summary>Null when the write may proceed over <paramref name="current"/> (null: no object).</summary>
    public ObjectStoreException? Check(string bucket, string name, string? currentETag)
    {
        if (IfNoneMatch && currentETag is not null)
            return new ObjectStoreException(ObjectError.PreconditionFailed, $"The object '{name}' already exists (If-None-Match: *).");
        if (IfMatch is { } expected)
        {
            if (currentETag is null)
                return new ObjectStoreException(ObjectError.NoSuchKey, $"The object '{name}' does not exist in bucket '{bucket}' (If-Match).");
            if (expected != "*" && !string.Equals(expected.Trim().Trim('"'), currentETag, StringComparison.Ordinal))
                return new ObjectStoreException(ObjectError.PreconditionFailed, $"The object '{name}' has another ETag than the If-Match one.");
        }
        return null;
    }
}

public sealed record UploadPartCommand(
    string Bucket,
    string Name,
    string UploadId,
    int PartNumber,
    Stream Body,
    long? Length,
    string Principal,
    ChecksumAlgorithm? Checksum = null,
    Func<PlaintextDigests, ObjectStoreException?>? Verify = null,
    CustomerKey? CustomerKey = null);

/// <summary>An opened object: its record, decrypted metadata and the plaintext of [Start, End).</summary>
public sealed class ObjectReader : IDisposable
{
    private readonly ObjectBodyStream _body;

    internal ObjectReader(ObjectRecord record, ObjectMetadata metadata, ObjectBodyStream body, long start, long end)
    {
        Record = record;
        Metadata = metadata;
        _body = body;
        Start = start;
        End = end;
    }

    public ObjectRecord Record { get; }
    public ObjectMetadata Metadata { get; }
    public Stream Body => _body;
    public long Start { get; }
    public long End { get; }
    public long Length => End - Start;

    /// <summary>Fetches the first part before any response is sent, so that backend and integrity errors can still be answered cleanly.</summary>
    public Task PrepareAsync(CancellationToken ct = default) => _body.PrepareAsync(ct);

    public void Dispose() => _body.Dispose();
}

public sealed class ObjectStoreOptions
{
    /// <summary>The key (name, alias or id) of buckets that have none of their own.</summary>
    public string DefaultKey { get; set; } = "default";

    /// <summary>Bucket name → key, for buckets bound to a key of their own.</summary>
    public Dictionary<string, string> BucketKeys { get; set; } = new(StringComparer.Ordinal);

    public int SegmentExponent { get; set; } = Crypto.StreamFormat.DefaultSegmentExponent;

    /// <summary>S3's minimum size for every part but the last.</summary>
    public long MinimumPartSize { get; set; } = 5L * 1024 * 1024;

    /// <summary>S3's limit for one PUT or one part (5 GiB), applied to the plaintext received whatever its framing.</summary>
    public long MaxStreamSize { get; set; } = MaxS3StreamSize;

    /// <summary>S3's limit for a whole object (5 TiB), applied when a multipart upload is completed.</summary>
    public long MaxObjectSize { get; set; } = 5L * 1024 * 1024 * 1024 * 1024;

    public const long MaxS3StreamSize = 5L * 1024 * 1024 * 1024;

    /// <summary>How long an unreferenced blob is kept before deletion, so that reads of a replaced version in flight finish.</summary>
    public TimeSpan GarbageGracePeriod { get; set; } = TimeSpan.FromMinutes(15);
}
