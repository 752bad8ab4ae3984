using System.Globalization;
using Coffre.Objects.Keys;

namespace Coffre.Objects;

/// <summary>
/// What every blob carries beside its ciphertext so the backend alone holds all that decryption
/// needs except keys (docs/format.md §5): key id, key version, wrapped data key, part number.
/// </summary>
public static class BlobMetadata
{
    public static Dictionary<string, string> For(WrappedKeyRef key, int partNumber) => new()
    {
        ["coffre-format"] = "1",
        ["coffre-key"] = key.KeyId,
        ["coffre-key-version"] = key.KeyVersion.ToString(CultureInfo.InvariantCulture),
        ["coffre-wrapped-key"] = Convert.ToBase64String(key.Wrapped),
        ["coffre-part"] = partNumber.ToString(CultureInfo.InvariantCulture),
    };
}
