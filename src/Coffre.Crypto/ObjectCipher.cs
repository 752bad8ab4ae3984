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

    /// <summary>Encrypts a buffer (convenience for small objects and tests).</summary>
    public static byte[] Encrypt(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> associatedData,
        int segmentExponent = StreamFormat.DefaultSegmentExponent)
    {
        var result = new byte[StreamFormat.CiphertextLength(plaintext.Length, segmentExponent)];
        using var source = new MemoryStream(plaintext.ToArray(), writable: false);
        using var encrypting = new EncryptingStream(source, dataKey, associatedData, segmentExponent);
        encrypting.ReadExactly(result);
        if (encrypting.Read(stackalloc byte[1]) != 0) throw new InvalidOperationException("Encryption produced more bytes than the format predicts.");
        return result;
    }

    /// <summary>Verifies and decrypts a whole stream held in memory.</summary>
    public static byte[] Decrypt(ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> associatedData)
    {
        using var source = new MemoryStream(ciphertext.ToArray(), writable: false);
        using var decrypting = new DecryptingStream(source, dataKey, associatedData);
        using var output = new MemoryStream();
        decrypting.CopyTo(output, 1 << 20);
        return output.ToArray();
    }

    /// <summary>A copy buffer that holds whole sealed segments, so the streams serve reads directly.</summary>
    private static int CopyBufferSize(int segmentExponent) =>
        Math.Max(81920, 2 * ((1 << segmentExponent) + StreamFormat.TagSize));
}
