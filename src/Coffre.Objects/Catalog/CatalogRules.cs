using System.Text.Json;

namespace Coffre.Objects.Catalog;

/// <summary>
/// What every catalog implementation decides the same way: which blobs a commit turns into garbage, and how an
/// object's part list is stored (JSON, one text column: read and written whole, never queried inside).
/// </summary>
public static class CatalogRules
{
    /// <summary>How far ahead a blob about to be written is dated in the garbage list: a write in flight (an upload
    /// of up to 5 GiB) must outlive the garbage grace period.</summary>
    public static readonly TimeSpan PendingBlobLifetime = TimeSpan.FromDays(1);

    /// <summary>
    /// The blobs of an object version that <paramref name="successor"/> does not reuse, and its sidecar
    /// (docs/format.md §5) and manifest (§12) unless the successor keeps the same first part. The sidecar is listed whether or not a
    /// rewrap ever wrote it: deleting a missing blob is not an error.
    /// </summary>
    public static IEnumerable<string> SupersededBlobs(IReadOnlyList<StoredPart> parts, IReadOnlyList<StoredPart> successor)
    {
        foreach (var p in parts)
            if (successor.All(n => n.Blob != p.Blob))
                yield return p.Blob;
        if (successor.Count == 0 || successor[0].Blob != parts[0].Blob)
        {
            yield return BlobMetadata.SidecarKey(parts[0].Blob);
            yield return Manifests.ObjectManifest.KeyOf(parts[0].Blob);
        }
    }

    /// <summary>
    /// Why a completed upload's record cannot be committed, checked in the commit's transaction against the parts
    /// the upload holds now (null: the upload is gone): another instance may have completed or aborted it, or a
    /// part may have been uploaded again, since the record was built. Null when it can.
    /// </summary>
    public static ObjectStoreException? CompletionRefused(string uploadId, IReadOnlyList<StoredPart>? uploadParts, IReadOnlyList<StoredPart> recordParts)
    {
        if (uploadParts is null)
            return new ObjectStoreException(ObjectError.NoSuchUpload, $"The multipart upload '{uploadId}' was completed or aborted meanwhile.");
        foreach (var p in recordParts)
            if (uploadParts.All(u => u.Blob != p.Blob))
                return new ObjectStoreException(ObjectError.InvalidPart, $"Part {p.Number} of upload '{uploadId}' was uploaded again meanwhile; complete the upload with its new ETag.");
        return null;
    }

    public static ObjectStoreException NoSuchVersionMarker(string key, string versionId) =>
        new(ObjectError.InvalidArgument, $"Invalid version id specified: the version-id-marker '{versionId}' names no version of the key-marker '{key}'.");

    public static ObjectStoreException NoSuchBucket(string bucket) =>
        new(ObjectError.NoSuchBucket, $"The bucket '{bucket}' does not exist.");

    public static string SerializeParts(IReadOnlyList<StoredPart> parts) => JsonSerializer.Serialize(parts);
    public static IReadOnlyList<StoredPart> DeserializeParts(string json) => JsonSerializer.Deserialize<List<StoredPart>>(json)!;
    public static string SerializePart(StoredPart part) => JsonSerializer.Serialize(part);
    public static StoredPart DeserializePart(string json) => JsonSerializer.Deserialize<StoredPart>(json)!;
    public static string SerializeTags(IReadOnlyList<Tagging.ObjectTag> tags) => JsonSerializer.Serialize(tags);
    public static IReadOnlyList<Tagging.ObjectTag> DeserializeTags(string json) => JsonSerializer.Deserialize<List<Tagging.ObjectTag>>(json)!;
}
