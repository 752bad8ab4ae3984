using System.Text.Json;
using System.Text.Json.Serialization;
using Coffre.Crypto;
using Coffre.Objects.Catalog;
using Coffre.Objects.Keys;
using Coffre.Objects.Lock;
using Coffre.Objects.Versions;

namespace Coffre.Objects.Manifests;

/// <summary>
/// What the catalog knows of one object version, travelling with its ciphertext so that the catalog can be rebuilt
/// from the backends and the key store alone (docs/format.md §12): the bucket, the name, the version, the sealed
/// metadata and the part list. The provider sees none of it: the manifest is sealed under a data key of its own,
/// wrapped under the object's key with the manifest's blob key as context, so it opens only where it was written.
/// </summary>
public sealed record ObjectManifest(
    string Bucket,
    string BucketKeyId,
    DateTimeOffset BucketCreated,
    BucketVersioning BucketVersioning,
    string Name,
    string VersionId,
    DateTimeOffset Modified,
    long Size,
    string ETag,
    WrappedKeyRef DataKey,
    byte[] SealedMetadata,
    IReadOnlyList<StoredPart> Parts)
{
    public const string Format = "coffre-manifest";

    /// <summary>The version's Object Lock (retention, legal hold) as the catalog held it when the manifest was written;
    /// null: none (and in manifests written before locks were recorded).</summary>
    public VersionLock? Lock { get; init; }

    /// <summary>The version's storage class; null in manifests written before it was recorded (STANDARD).</summary>
    public string? StorageClass { get; init; }

    /// <summary>Appended to an object's first part blob key to name its manifest (like the sidecar, <see cref="BlobMetadata.SidecarSuffix"/>).</summary>
    public const string Suffix = ".manifest";

    /// <summary>The wrap context of a manifest's data key: the canonical form of {"coffre:manifest": manifest blob key}.</summary>
    public const string ContextKey = "coffre:manifest";

    public static string KeyOf(string firstBlob) => firstBlob + Suffix;

    public static IReadOnlyDictionary<string, string> WrapContext(string manifestKey) =>
        new Dictionary<string, string>(StringComparer.Ordinal) { [ContextKey] = manifestKey };

    /// <summary>The audit record's member naming the object version a manifest describes, beside coffre:bucket and coffre:object.</summary>
    public const string VersionMember = "coffre:version";

    /// <summary>
    /// What the audit record of a manifest's data key names besides its wrap context: the object's bucket, name and
    /// version, as the object's own record names them, so an auditor ties the two together. Recorded only: binding
    /// them would change the format (the wrap context names the blob key, which is enough to pin the manifest).
    /// </summary>
    public static IReadOnlyDictionary<string, string> AuditedAs(ObjectRecord record) =>
        new Dictionary<string, string>(ObjectBinding.WrapContext(record.Bucket, record.Name), StringComparer.Ordinal) { [VersionMember] = record.VersionId };

    /// <summary>Blob metadata of a manifest: says what it is to whoever lists the backend (it holds no secret).</summary>
    public static IReadOnlyDictionary<string, string> BlobMetadata { get; } = new Dictionary<string, string> { ["coffre-format"] = "1", ["coffre-manifest"] = "1" };

    public static ObjectManifest Of(BucketRecord bucket, ObjectRecord record, VersionLock? versionLock) => new(
        bucket.Name, bucket.KeyId, bucket.Created, bucket.Versioning, record.Name, record.VersionId, record.Modified,
        record.Size, record.ETag, record.Key, record.SealedMetadata, record.Parts) { Lock = versionLock, StorageClass = record.StorageClass };

    public BucketRecord ToBucket() => new(Bucket, BucketKeyId, BucketCreated) { Versioning = BucketVersioning };

    public ObjectRecord ToRecord(WrappedKeyRef key) =>
        new(Bucket, Name, Size, ETag, Modified, key, SealedMetadata, Parts) { VersionId = VersionId, StorageClass = StorageClass ?? StorageClasses.Standard };

    /// <summary>The manifest blob: a file envelope (§4) naming the manifest's wrapped data key, then the JSON sealed as a stream whose associated data is the envelope.</summary>
    public byte[] Seal(WrappedKeyRef manifestKey, ReadOnlySpan<byte> manifestDataKey)
    {
        var envelope = FileEnvelope.Encode(manifestKey.KeyId, manifestKey.KeyVersion, manifestKey.Wrapped);
        using var input = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(new Document(Format, 1, this), Json), writable: false);
        using var encrypting = new EncryptingStream(input, manifestDataKey, envelope);
        using var output = new MemoryStream();
        output.Write(envelope);
        encrypting.CopyTo(output);
        return output.ToArray();
    }

    /// <summary>Opens a manifest blob with its data key (<paramref name="unwrap"/> is given the envelope's wrapped key).
    /// Throws <see cref="AuthenticationFailedException"/> when the blob was altered or belongs elsewhere.</summary>
    public static async Task<ObjectManifest> OpenAsync(Stream blob, Func<WrappedKeyRef, Task<byte[]>> unwrap, CancellationToken ct = default)
    {
        var envelope = await FileEnvelope.ReadAsync(blob, ct).ConfigureAwait(false);
        var key = await unwrap(new WrappedKeyRef(envelope.KeyId, envelope.KeyVersion, envelope.WrappedKey)).ConfigureAwait(false);
        try
        {
            await using var decrypting = new DecryptingStream(blob, key, envelope.Bytes, leaveOpen: true);
            using var plain = new MemoryStream();
            await decrypting.CopyToAsync(plain, ct).ConfigureAwait(false);
            var document = JsonSerializer.Deserialize<Document>(plain.ToArray(), Json);
            if (document is not { Format: Format, Version: 1, Manifest: { } manifest })
                throw new InvalidDataException($"Not a manifest of format {Format} version 1.");
            return manifest;
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(key);
        }
    }

    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    private sealed record Document(string Format, int Version, ObjectManifest Manifest);
}
