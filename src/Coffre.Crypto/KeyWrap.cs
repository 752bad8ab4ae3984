using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Coffre.Crypto;

/// <summary>
/// Wraps a 32-byte data key under a 32-byte key-encryption key with AES-256-GCM, binding the
/// key id, key version and a caller context into the associated data (docs/format.md §3).
/// </summary>
public static class KeyWrap
{
    public const byte FormatVersion = 1;
    public const int KeySize = 32;
    public const int NonceSize = 12;
    public const int TagSize = 16;
    public const int WrappedSize = 1 + NonceSize + KeySize + TagSize;

    private static ReadOnlySpan<byte> Label => "coffre/v1/wrap"u8;

    public static byte[] Wrap(ReadOnlySpan<byte> kek, ReadOnlySpan<byte> dataKey, string keyId, int keyVersion, ReadOnlySpan<byte> context)
    {
        Span<byte> nonce = stackalloc byte[NonceSize];
        RandomNumberGenerator.Fill(nonce);
        return Wrap(kek, dataKey, keyId, keyVersion, context, nonce);
    }

    /// <summary>Deterministic variant for test vectors: the nonce must never repeat under one key.</summary>
    public static byte[] Wrap(ReadOnlySpan<byte> kek, ReadOnlySpan<byte> dataKey, string keyId, int keyVersion, ReadOnlySpan<byte> context, ReadOnlySpan<byte> nonce)
    {
        if (kek.Length != KeySize) throw new ArgumentException("A key-encryption key is 32 bytes.", nameof(kek));
        if (dataKey.Length != KeySize) throw new ArgumentException("A data key is 32 bytes.", nameof(dataKey));
        if (nonce.Length != NonceSize) throw new ArgumentException("A wrap nonce is 12 bytes.", nameof(nonce));
        var result = new byte[WrappedSize];
        result[0] = FormatVersion;
        nonce.CopyTo(result.AsSpan(1, NonceSize));
        var aad = Aad(keyId, keyVersion, context);
        using var gcm = new AesGcm(kek, TagSize);
        gcm.Encrypt(nonce, dataKey, result.AsSpan(1 + NonceSize, KeySize), result.AsSpan(1 + NonceSize + KeySize, TagSize), aad);
        return result;
    }

    /// <summary>Unwraps into <paramref name="dataKey"/>; throws <see cref="AuthenticationFailedException"/> on any mismatch.</summary>
    public static void Unwrap(ReadOnlySpan<byte> kek, ReadOnlySpan<byte> wrapped, string keyId, int keyVersion, ReadOnlySpan<byte> context, Span<byte> dataKey)
    {
        if (kek.Length != KeySize) throw new ArgumentException("A key-encryption key is 32 bytes.", nameof(kek));
        if (dataKey.Length != KeySize) throw new ArgumentException("A data key is 32 bytes.", nameof(dataKey));
        if (wrapped.Length != WrappedSize)
            throw AuthenticationFailedException.AtWrappedKey($"it is {wrapped.Length} bytes, expected {WrappedSize}");
        if (wrapped[0] != FormatVersion)
            throw AuthenticationFailedException.AtWrappedKey($"unknown wrap format {wrapped[0]}");
        var aad = Aad(keyId, keyVersion, context);
        using var gcm = new AesGcm(kek, TagSize);
        try
        {
            gcm.Decrypt(wrapped.Slice(1, NonceSize), wrapped.Slice(1 + NonceSize, KeySize), wrapped.Slice(1 + NonceSize + KeySize, TagSize), dataKey, aad);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw AuthenticationFailedException.AtWrappedKey("the tag does not verify");
        }
    }

    /// <summary>"coffre/v1/wrap" || lp(key id) || u32(version) || lp(context).</summary>
    public static byte[] Aad(string keyId, int keyVersion, ReadOnlySpan<byte> context)
    {
        var id = Encoding.UTF8.GetBytes(keyId);
        var aad = new byte[Label.Length + 4 + id.Length + 4 + 4 + context.Length];
        var span = aad.AsSpan();
        Label.CopyTo(span);
        span = span[Label.Length..];
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)id.Length);
        id.CopyTo(span[4..]);
        span = span[(4 + id.Length)..];
        BinaryPrimitives.WriteUInt32BigEndian(span, checked((uint)keyVersion));
        BinaryPrimitives.WriteUInt32BigEndian(span[4..], (uint)context.Length);
        context.CopyTo(span[8..]);
        return aad;
    }
}
