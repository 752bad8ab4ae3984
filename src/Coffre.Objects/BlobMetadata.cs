using System.Globalization;
using Coffre.Objects.Keys;

namespace Coffre.Objects;

/// <summary>
/// What the backend holds beside the ciphertext so that it alone has all that decryption needs
/// except keys (docs/format.md §5). Every part blob carries the key id, key version and wrapped
/// data key it was written with, and its part number; it is never changed afterwards (replacing an
/// S3 object's metadata copies the whole object). A rewrap writes the new wrapped data key into one
/// empty sidecar blob per object instead, whose wrapped key takes precedence over the parts' own.
/// </summary>
public static class BlobMetadata
{
    /// <summary>
    /// Appended to an object's first part blob key to name its sidecar. Part blobs are named
    /// <c>objects/</c> + hex digits, so no part blob key contains a '.' and none can be a sidecar's.
    /// </summary>
    public const string SidecarSuffix = ".key";

    /// <summary>Metadata of a part blob, as written by its upload.</summary>
    public static Dictionary<string, string> For(WrappedKeyRef key, int partNumber) =>
        WithKey(key, "coffre-part", partNumber);

    /// <summary>Metadata of an object's sidecar: the current wrapped data key, and how many parts the object has.</summary>
    public static Dictionary<string, string> Sidecar(WrappedKeyRef key, int partCount) =>
        WithKey(key, "coffre-parts", partCount);

    /// <summary>The sidecar blob key of the object whose first part is stored under <paramref name="firstBlob"/>.</summary>
    public static string SidecarKey(string firstBlob) => firstBlob + SidecarSuffix;

    /// <summary>The wrapped data key a part blob's or sidecar's metadata holds; null when it holds none or a malformed one.</summary>
    public static WrappedKeyRef? ReadKey(IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue("coffre-key", out var keyId)
            || !metadata.TryGetValue("coffre-key-version", out var v) || !int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            || !metadata.TryGetValue("coffre-wrapped-key", out var wrapped))
            return null;
        try
        {
            return new WrappedKeyRef(keyId, version, Convert.FromBase64String(wrapped));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static Dictionary<string, string> WithKey(WrappedKeyRef key, string countName, int count) => new()
    {
        ["coffre-format"] = "1",
        ["coffre-key"] = key.KeyId,
        ["coffre-key-version"] = key.KeyVersion.ToString(CultureInfo.InvariantCulture),
        ["coffre-wrapped-key"] = Convert.ToBase64String(key.Wrapped),
        [countName] = count.ToString(CultureInfo.InvariantCulture),
    };
}
