using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Coffre.Crypto;

/// <summary>AES-256-GCM over segments with the §2 nonce. One instance (one AesGcm) per stream.</summary>
internal sealed class SegmentCipher : IDisposable
{
    private readonly AesGcm _gcm;

    public SegmentCipher(ReadOnlySpan<byte> segmentKey) => _gcm = new AesGcm(segmentKey, StreamFormat.TagSize);

    /// <summary>nonce_i = 00 00 00 || u64(i) || final.</summary>
    public static void WriteNonce(Span<byte> nonce, long index, bool final)
    {
        nonce[0] = 0;
        nonce[1] = 0;
        nonce[2] = 0;
        BinaryPrimitives.WriteUInt64BigEndian(nonce[3..], (ulong)index);
        nonce[11] = final ? (byte)1 : (byte)0;
    }

    /// <summary>Encrypts <c>buffer[..length]</c> in place and writes the tag at <c>buffer[length..length+16]</c>.</summary>
    public void Seal(long index, bool final, Span<byte> buffer, int length)
    {
        Span<byte> nonce = stackalloc byte[StreamFormat.NonceSize];
        WriteNonce(nonce, index, final);
        var text = buffer[..length];
        _gcm.Encrypt(nonce, text, text, buffer.Slice(length, StreamFormat.TagSize));
    }

    /// <summary>Encrypts <paramref name="plaintext"/> into <c>sealedSegment[..n]</c> and writes the tag after it (no copy of the input).</summary>
    public void Seal(long index, bool final, ReadOnlySpan<byte> plaintext, Span<byte> sealedSegment)
    {
        Span<byte> nonce = stackalloc byte[StreamFormat.NonceSize];
        WriteNonce(nonce, index, final);
        _gcm.Encrypt(nonce, plaintext, sealedSegment[..plaintext.Length], sealedSegment.Slice(plaintext.Length, StreamFormat.TagSize));
    }

    /// <summary>
    /// Verifies and decrypts <c>ct || tag</c> (<paramref name="sealedSegment"/>) into
    /// <paramref name="plaintext"/>. AesGcm releases nothing unless the tag verifies (it clears
    /// <paramref name="plaintext"/> on failure).
    /// </summary>
    public void Open(long index, bool final, ReadOnlySpan<byte> sealedSegment, Span<byte> plaintext)
    {
        Span<byte> nonce = stackalloc byte[StreamFormat.NonceSize];
        WriteNonce(nonce, index, final);
        int length = sealedSegment.Length - StreamFormat.TagSize;
        try
        {
            _gcm.Decrypt(nonce, sealedSegment[..length], sealedSegment[length..], plaintext[..length]);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw AuthenticationFailedException.AtSegment(index, final
                ? "the tag does not verify as the final segment (modified, truncated, reordered, or from another stream)"
                : "the tag does not verify as a non-final segment (modified, reordered, extended, or from another stream)");
        }
    }

    public void Dispose() => _gcm.Dispose();
}
