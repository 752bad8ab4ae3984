using System.Security.Cryptography;
namespace Coffre.Crypto;

/// <summary>Whole-stream helpers over <see cref="EncryptingStream"/> and <see cref="DecryptingStream"/>.</summary>
public static class ObjectCipher
{
    /// <summary>Encrypts <paramref name="plaintext"/> (to its end) into <paramref name="ciphertextOut"/>. Neither stream is closed.</summary>
    public static async Task EncryptAsync(Stream plaintext, Stream ciphertextOut, ReadOnlyMemory<byte> dataKey, ReadOnlyMemory<byte> associatedData,
        CancellationToken cancellationToken = default, int segmentExponent = StreamFormat.DefaultSegmentExponent)
    {
        ArgumentNullException.ThrowIfNull(ciphertextOut);
        var encrypting = new EncryptingStream(plaintext, dataKey.Span, associatedData.Span, segmentExponent, leaveOpen: true);
        await using (encrypting.ConfigureAwait(false))
        {
            await encrypting.CopyToAsync(ciphertextOut, CopyBufferSize(segmentExponent), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Verifies and decrypts a whole stream into <paramref name="plaintextOut"/>. Throws
    /// <see cref="AuthenticationFailedException"/> on any tampering; plaintext of the segments
    /// before the failing one may already have been written, so the caller must discard the
    /// output on failure. Neither stream is closed.
    /// </summary>
    public static async Task DecryptAsync(Stream ciphertext, Stream plaintextOut, ReadOnlyMemory<byte> dataKey, ReadOnlyMemory<byte> associatedData,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plaintextOut);
        var decrypting = new DecryptingStream(ciphertext, dataKey.Span, associatedData.Span, leaveOpen: true);
        await using (decrypting.ConfigureAwait(false))
        {
            await decrypting.CopyToAsync(plaintextOut, 1 << 20, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Encrypts a whole plaintext held in memory.</summary>
    public static byte[] Encrypt(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> associatedData,
        int segmentExponent = StreamFormat.DefaultSegmentExponent)
    {
        var result = new byte[StreamFormat.CiphertextLength(plaintext.Length, segmentExponent)];
        Encrypt(plaintext, result, dataKey, associatedData, segmentExponent);
        return result;
    }

    /// <summary>
    /// Encrypts a whole plaintext held in memory into <paramref name="destination"/>, which must be exactly
    /// <see cref="StreamFormat.CiphertextLength"/> bytes: each segment goes straight from the input to the
    /// output, with no intermediate copy.
    /// </summary>
    public static void Encrypt(ReadOnlySpan<byte> plaintext, Span<byte> destination, ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> associatedData,
        int segmentExponent = StreamFormat.DefaultSegmentExponent)
    {
        if (destination.Length != StreamFormat.CiphertextLength(plaintext.Length, segmentExponent))
            throw new ArgumentException("The destination must be exactly the ciphertext length.", nameof(destination));
        Span<byte> segmentKey = stackalloc byte[StreamFormat.KeySize];
        try
        {
            var header = StreamHeader.Create(segmentExponent, dataKey, associatedData, segmentKey);
            header.CopyTo(destination);
            using var cipher = new SegmentCipher(segmentKey);
            int size = StreamFormat.SegmentSize(segmentExponent);
            long count = StreamFormat.SegmentCount(plaintext.Length, segmentExponent);
            var output = destination[StreamFormat.HeaderSize..];
            for (long i = 0; i < count; i++)
            {
                int offset = (int)(i * size);
                int length = Math.Min(size, plaintext.Length - offset);
                cipher.Seal(i, i == count - 1, plaintext.Slice(offset, length), output.Slice((int)(i * (size + StreamFormat.TagSize)), length + StreamFormat.TagSize));
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(segmentKey);
        }
    }

    /// <summary>Verifies and decrypts a whole stream held in memory.</summary>
    public static byte[] Decrypt(ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> associatedData)
    {
        if (ciphertext.Length < StreamFormat.HeaderSize) throw AuthenticationFailedException.AtHeader("the stream is shorter than its header");
        var header = StreamHeader.Parse(ciphertext[..StreamFormat.HeaderSize]);
        var result = new byte[StreamFormat.PlaintextLength(ciphertext.Length, header.SegmentExponent)];
        Decrypt(ciphertext, result, dataKey, associatedData);
        return result;
    }

    /// <summary>
    /// Verifies and decrypts a whole stream held in memory into <paramref name="destination"/> (exactly
    /// the plaintext length), segment by segment with no intermediate copy. On any failure the
    /// destination is cleared before the <see cref="AuthenticationFailedException"/> is thrown.
    /// </summary>
    public static void Decrypt(ReadOnlySpan<byte> ciphertext, Span<byte> destination, ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> associatedData)
    {
        Span<byte> segmentKey = stackalloc byte[StreamFormat.KeySize];
        try
        {
            if (ciphertext.Length < StreamFormat.HeaderSize) throw AuthenticationFailedException.AtHeader("the stream is shorter than its header");
            var header = StreamHeader.Parse(ciphertext[..StreamFormat.HeaderSize]);
            int e = header.SegmentExponent;
            long plaintextLength = StreamFormat.PlaintextLength(ciphertext.Length, e);
            if (destination.Length != plaintextLength)
                throw new ArgumentException("The destination must be exactly the plaintext length.", nameof(destination));
            header.DeriveSegmentKey(dataKey, associatedData, segmentKey);
            using var cipher = new SegmentCipher(segmentKey);
            int size = StreamFormat.SegmentSize(e);
            long count = StreamFormat.SegmentCount(plaintextLength, e);
            var input = ciphertext[StreamFormat.HeaderSize..];
            for (long i = 0; i < count; i++)
            {
                int offset = (int)(i * size);
                int length = (int)Math.Min(size, plaintextLength - offset);
                cipher.Open(i, i == count - 1, input.Slice((int)(i * (size + StreamFormat.TagSize)), length + StreamFormat.TagSize), destination.Slice(offset, length));
            }
        }
        catch (AuthenticationFailedException)
        {
            CryptographicOperations.ZeroMemory(destination);
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(segmentKey);
        }
    }

    /// <summary>A copy buffer that holds whole sealed segments, so the streams serve reads directly.</summary>
    private static int CopyBufferSize(int segmentExponent) =>
        Math.Max(81920, 2 * ((1 << segmentExponent) + StreamFormat.TagSize));
}
