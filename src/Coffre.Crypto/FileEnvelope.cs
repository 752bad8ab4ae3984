using System.Buffers.Binary;
using System.Text;

namespace Coffre.Crypto;

/// <summary>
/// The envelope in front of a stream in files written by `coffre encrypt` (docs/format.md §4):
/// the key reference and wrapped data key, so the file alone says how to decrypt it. The stream
/// after it uses the envelope bytes as associated data.
/// </summary>
public static class FileEnvelope
{
    public const byte Version = 1;
    public const int MaxKeyIdBytes = 1024;
    public static ReadOnlySpan<byte> Magic => "CFRF"u8;

    /// <summary>The wrap context of file data keys: the canonical form of {"coffre:purpose": "file"}.</summary>
    public const string PurposeContextKey = "coffre:purpose";
    public const string PurposeContextValue = "file";

    public static byte[] Encode(string keyId, int keyVersion, ReadOnlySpan<byte> wrappedKey)
    {
        var id = Encoding.UTF8.GetBytes(keyId);
        if (id.Length > MaxKeyIdBytes) throw new ArgumentException("Key id too long.", nameof(keyId));
        if (wrappedKey.Length > 255) throw new ArgumentException("Wrapped key too long.", nameof(wrappedKey));
        var result = new byte[4 + 1 + 2 + id.Length + 4 + 1 + wrappedKey.Length];
        var s = result.AsSpan();
        Magic.CopyTo(s);
        s[4] = Version;
        BinaryPrimitives.WriteUInt16BigEndian(s[5..], (ushort)id.Length);
        id.CopyTo(s[7..]);
        var at = 7 + id.Length;
        BinaryPrimitives.WriteUInt32BigEndian(s[at..], checked((uint)keyVersion));
        s[at + 4] = (byte)wrappedKey.Length;
        wrappedKey.CopyTo(s[(at + 5)..]);
        return result;
    }

    /// <summary>Reads the envelope from the start of <paramref name="input"/>, leaving it positioned at the stream.</summary>
    public static async Task<Envelope> ReadAsync(Stream input, CancellationToken ct = default)
    {
        var fixedPart = new byte[7];
        await ReadExactAsync(input, fixedPart, ct).ConfigureAwait(false);
        if (!fixedPart.AsSpan(0, 4).SequenceEqual(Magic))
            throw AuthenticationFailedException.AtEnvelope("this is not a file written by `coffre encrypt` (bad magic)");
        if (fixedPart[4] != Version)
            throw AuthenticationFailedException.AtEnvelope($"unsupported envelope version {fixedPart[4]}");
        var idLength = BinaryPrimitives.ReadUInt16BigEndian(fixedPart.AsSpan(5));
        if (idLength is 0 or > MaxKeyIdBytes)
            throw AuthenticationFailedException.AtEnvelope("the key id length is invalid");
        var rest = new byte[idLength + 5];
        await ReadExactAsync(input, rest, ct).ConfigureAwait(false);
        var version = BinaryPrimitives.ReadUInt32BigEndian(rest.AsSpan(idLength));
        var wrapped = new byte[rest[idLength + 4]];
        await ReadExactAsync(input, wrapped, ct).ConfigureAwait(false);
        string keyId;
        try
        {
            keyId = new UTF8Encoding(false, true).GetString(rest, 0, idLength);
        }
        catch (DecoderFallbackException)
        {
            throw AuthenticationFailedException.AtEnvelope("the key id is not UTF-8");
        }
        if (version is 0 or > int.MaxValue)
            throw AuthenticationFailedException.AtEnvelope("the key version is invalid");
        var bytes = new byte[fixedPart.Length + rest.Length + wrapped.Length];
        fixedPart.CopyTo(bytes, 0);
        rest.CopyTo(bytes, fixedPart.Length);
        wrapped.CopyTo(bytes, fixedPart.Length + rest.Length);
        return new Envelope(keyId, (int)version, wrapped, bytes);
    }

    private static async Task ReadExactAsync(Stream input, byte[] buffer, CancellationToken ct)
    {
        try
        {
            await input.ReadExactlyAsync(buffer, ct).ConfigureAwait(false);
        }
        catch (EndOfStreamException)
        {
            throw AuthenticationFailedException.AtEnvelope("the file ends inside its envelope (truncated)");
        }
    }

    /// <summary>A parsed envelope; <see cref="Bytes"/> is the associated data of the stream that follows.</summary>
    public sealed record Envelope(string KeyId, int KeyVersion, byte[] WrappedKey, byte[] Bytes);
}
