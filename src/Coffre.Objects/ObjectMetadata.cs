using System.Text.Json;
using System.Text.Json.Serialization;
using Coffre.Crypto;

namespace Coffre.Objects;

/// <summary>
/// The metadata a client sets on an object. It is as sensitive as the body (file names in
/// Content-Disposition, user metadata), so it is sealed with the object's data key like the body.
/// </summary>
public sealed record ObjectMetadata
{
    public string? ContentType { get; init; }
    public string? ContentDisposition { get; init; }
    public string? ContentEncoding { get; init; }
    public string? ContentLanguage { get; init; }
    public string? CacheControl { get; init; }
    public string? Expires { get; init; }

    /// <summary>x-amz-meta-* values, keyed by the lowercase name after the prefix.</summary>
    public IReadOnlyDictionary<string, string> User { get; init; } = new Dictionary<string, string>();

    /// <summary>S3 checksum algorithm name (CRC32, ...), its base64 value and type (FULL_OBJECT or COMPOSITE).</summary>
    public string? ChecksumAlgorithm { get; init; }
    public string? ChecksumValue { get; init; }
    public string? ChecksumType { get; init; }

    /// <summary>What the writer asked of the object's encryption (null: written before SSE requests were kept, the bucket's key).</summary>
    public Encryption.ObjectEncryption? Encryption { get; init; }

    /// <summary>The object's tags (S3 object tagging), in the order set; null when it has none. Sealed like the rest,
    /// so tag values reach neither the backend nor the catalog in clear; PutObjectTagging seals them anew.</summary>
    public IReadOnlyList<Tagging.ObjectTag>? Tags { get; init; }
    /// <summary>A multipart upload's Object Lock, asked at its creation and applied at its completion; never kept in an
    /// object's metadata (a version's lock lives in the catalog, where it can change).</summary>
    public Lock.VersionLock? Lock { get; init; }

    /// <summary>A multipart upload's ACL (JSON), asked at its creation and given to the object at its completion; never
    /// kept in an object's metadata (a version's ACL lives in the catalog, where it can change).</summary>
    public string? Acl { get; init; }

    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    internal byte[] Seal(ReadOnlySpan<byte> dataKey, byte[] associatedData)
    {
        var plain = JsonSerializer.SerializeToUtf8Bytes(this, Json);
        using var input = new MemoryStream(plain, writable: false);
        using var enc = new EncryptingStream(input, dataKey, associatedData);
        using var output = new MemoryStream();
        enc.CopyTo(output);
        return output.ToArray();
    }

    internal static ObjectMetadata Open(byte[] sealedBytes, ReadOnlySpan<byte> dataKey, byte[] associatedData)
    {
        using var input = new MemoryStream(sealedBytes, writable: false);
        using var dec = new DecryptingStream(input, dataKey, associatedData);
        using var output = new MemoryStream();
        try
        {
            dec.CopyTo(output);
        }
        catch (AuthenticationFailedException e)
        {
            throw new ObjectStoreException(ObjectError.IntegrityFailure, "The object's sealed metadata failed authentication.", e);
        }
        return JsonSerializer.Deserialize<ObjectMetadata>(output.ToArray(), Json)!;
    }
}
