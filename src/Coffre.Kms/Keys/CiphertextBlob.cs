using System.Buffers.Binary;
using System.Text;

namespace Coffre.Kms.Keys;

/// <summary>
/// The self-describing ciphertext of <see cref="KeyManager.Encrypt"/> (docs/format.md §7):
/// "CFRK" || 01 || u16(m) || key id (m bytes UTF-8) || u32(key version) || nonce(12) || ct || tag(16).
/// The header is everything before the nonce; AAD = header || canonical context.
/// </summary>
public static class CiphertextBlob
{
    public static ReadOnlySpan<byte> Magic => "CFRK"u8;
    public const byte Version = 1;
    public const int NonceSize = 12;
    public const int TagSize = 16;
    public const int MaxPlaintext = 4096;

    internal static byte[] Header(string keyId, int keyVersion)
    {
        var id = Encoding.UTF8.GetBytes(keyId);
        var header = new byte[4 + 1 + 2 + id.Length + 4];
        Magic.CopyTo(header);
        header[4] = Version;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(5), checked((ushort)id.Length));
        id.CopyTo(header, 7);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(7 + id.Length), checked((uint)keyVersion));
        return header;
    }

    /// <summary>Parses the header; throws InvalidCiphertext when malformed.</summary>
    internal static (string KeyId, int KeyVersion, int HeaderLength) Parse(ReadOnlySpan<byte> blob)
    {
        if (blob.Length < 7 || !blob[..4].SequenceEqual(Magic))
            throw Invalid("it does not start with the Coffre ciphertext magic");
        if (blob[4] != Version)
            throw Invalid($"ciphertext version {blob[4]} is not supported");
        int m = BinaryPrimitives.ReadUInt16BigEndian(blob[5..]);
        var headerLength = 7 + m + 4;
        if (blob.Length < headerLength + NonceSize + TagSize)
            throw Invalid("it is truncated");
        string keyId;
        try
        {
            keyId = new UTF8Encoding(false, true).GetString(blob.Slice(7, m));
        }
        catch (DecoderFallbackException)
        {
            throw Invalid("the key id is not UTF-8");
        }
        var version = BinaryPrimitives.ReadUInt32BigEndian(blob[(7 + m)..]);
        if (version is 0 or > int.MaxValue)
            throw Invalid("the key version is out of range");
        return (keyId, (int)version, headerLength);
    }

    /// <summary>The key id a ciphertext names, without verifying anything (for routing and authorization only).</summary>
    public static bool TryReadKeyId(ReadOnlySpan<byte> blob, out string keyId)
    {
        keyId = "";
        try
        {
            (keyId, _, _) = Parse(blob);
            return true;
        }
        catch (KmsException)
        {
            return false;
        }
    }

    internal static KmsException Invalid(string why) =>
        new(KmsError.InvalidCiphertext, $"The ciphertext is not valid: {why}.");
}
