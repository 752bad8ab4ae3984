using System.Text;

namespace Coffre.Storage;

/// <summary>Rules shared by every store for keys and metadata.</summary>
public static class BlobKeys
{
    /// <summary>Longest key accepted by any store, in UTF-8 bytes (S3's own limit). A store may accept less.</summary>
    public const int MaxKeyBytes = 1024;

    /// <summary>Largest metadata set, names plus values, in bytes (S3 allows 2 KiB of user metadata).</summary>
    public const int MaxMetadataBytes = 2048;

    /// <summary>
    /// Reserved for the audit checkpoints published to every backend (docs/format.md §9). The object store names its
    /// blobs <c>objects/...</c>, so no object blob can land here, and garbage collection, which deletes only blobs the
    /// catalog listed as its own, never touches them.
    /// </summary>
    public const string AuditCheckpointPrefix = "audit-checkpoints/";

    /// <summary>
    /// Reserved for the probe blobs of `coffre backends check`, written and deleted at once; outside <c>objects/</c>, so
    /// no object blob can land here.
    /// </summary>
    public const string ProbePrefix = "coffre-probe/";

    /// <summary>
    /// Reserved for the encrypted backups `coffre backup --to-backend` writes (docs/operations.md, "Backups"); outside
    /// <c>objects/</c>, so no object blob can land here, and garbage collection never touches them.
    /// </summary>
    public const string BackupPrefix = "coffre-backups/";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Validates a key and returns its UTF-8 bytes. Any non-empty, well-formed string is a key.</summary>
    public static byte[] ToUtf8(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0) throw new ArgumentException("Blob key must not be empty.", nameof(key));
        byte[] bytes;
        try
        {
            bytes = StrictUtf8.GetBytes(key);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException("Blob key is not well-formed Unicode (lone surrogate).", nameof(key), e);
        }
        if (bytes.Length > MaxKeyBytes)
            throw new ArgumentException($"Blob key is {bytes.Length} UTF-8 bytes; the limit is {MaxKeyBytes}.", nameof(key));
        return bytes;
    }

    public static string FromUtf8(ReadOnlySpan<byte> bytes) => StrictUtf8.GetString(bytes);

    /// <summary>
    /// Metadata names: 1-64 chars of [a-z0-9-] starting with a letter or digit (S3 lower-cases names and
    /// several servers mangle anything else). Values: printable ASCII 0x20-0x7E without leading or trailing space.
    /// </summary>
    public static void ValidateMetadata(IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var total = 0;
        foreach (var (name, value) in metadata)
        {
            if (string.IsNullOrEmpty(name) || name.Length > 64 || name[0] == '-'
                || !name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
                throw new ArgumentException($"Metadata name '{name}' is invalid: use 1-64 chars of [a-z0-9-], not starting with '-'.", nameof(metadata));
            ArgumentNullException.ThrowIfNull(value, $"metadata[{name}]");
            if (!value.All(c => c is >= ' ' and <= '~') || (value.Length > 0 && (value[0] == ' ' || value[^1] == ' ')))
                throw new ArgumentException($"Metadata value of '{name}' must be printable ASCII without leading/trailing spaces.", nameof(metadata));
            total += name.Length + value.Length;
        }
        if (total > MaxMetadataBytes)
            throw new ArgumentException($"Metadata is {total} bytes; the limit is {MaxMetadataBytes}.", nameof(metadata));
    }

    /// <summary>A log-safe rendering of a key (control characters escaped, long keys shortened).</summary>
    public static string ForDisplay(string key)
    {
        var sb = new StringBuilder();
        foreach (var c in key.Length > 200 ? key[..200] : key)
            sb.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString());
        if (key.Length > 200) sb.Append($"...({key.Length} chars)");
        return sb.ToString();
    }
}
