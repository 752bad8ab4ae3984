using Coffre.Objects.Keys;

namespace Coffre.Objects.Catalog;

public sealed record BucketRecord(string Name, string KeyId, DateTimeOffset Created)
{
    public Versions.BucketVersioning Versioning { get; init; }
}

/// <summary>
/// One encrypted stream stored as one blob. A plain PUT has a single part numbered 0; a completed
/// multipart upload keeps its parts in order. <see cref="Header"/> is the stream header as written:
/// comparing it with what the backend returns detects a swapped or rolled-back blob.
/// </summary>
public sealed record StoredPart(int Number, string Blob, long Size, long CipherSize, byte[] Header, string Md5Hex, string? Checksum);

public sealed record ObjectRecord(
    string Bucket,
    string Name,
    long Size,
    string ETag,
    DateTimeOffset Modified,
    WrappedKeyRef Key,
    byte[] SealedMetadata,
    IReadOnlyList<StoredPart> Parts)
{
    /// <summary>The object version this record is (<see cref="Versions.VersionIds.Null"/> in a bucket never versioned).</summary>
    public string VersionId { get; init; } = Versions.VersionIds.Null;

    /// <summary>The version's S3 storage class (<see cref="StorageClasses"/>), in clear: listings show it.</summary>
    public string StorageClass { get; init; } = StorageClasses.Standard;
}

public sealed record UploadRecord(
    string UploadId,
    string Bucket,
    string Name,
    DateTimeOffset Created,
    WrappedKeyRef Key,
    byte[] SealedMetadata)
{
    /// <summary>The storage class the completed object will have.</summary>
    public string StorageClass { get; init; } = StorageClasses.Standard;
}

public sealed record UploadPartRecord(StoredPart Part, DateTimeOffset Modified);

/// <summary>One page of a listing: objects and rolled-up common prefixes, in key order.</summary>
public sealed record ListPage(IReadOnlyList<ListEntry> Entries, bool IsTruncated, string? NextMarker);

/// <summary>Either an object (Record set) or a common prefix (Prefix set).</summary>
public sealed record ListEntry(ObjectRecord? Record, string? Prefix);
