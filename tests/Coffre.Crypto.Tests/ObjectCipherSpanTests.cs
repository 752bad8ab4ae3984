using System.Security.Cryptography;

namespace Coffre.Crypto.Tests;

/// <summary>The in-memory span API is the same format as the streams, and fails as loudly.</summary>
public sealed class ObjectCipherSpanTests
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);
    private static readonly byte[] Ad = "bucket/object"u8.ToArray();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(257)]
    [InlineData(5 * 256 + 3)]
    public void Span_encryption_reads_back_through_the_decrypting_stream_and_the_reverse(int size)
    {
        var plaintext = RandomNumberGenerator.GetBytes(size);
        var ciphertext = new byte[StreamFormat.CiphertextLength(size, 8)];
        ObjectCipher.Encrypt(plaintext, ciphertext, Key, Ad, 8);
        using (var decrypting = new DecryptingStream(new MemoryStream(ciphertext), Key, Ad))
        using (var output = new MemoryStream())
        {
            decrypting.CopyTo(output);
            Assert.Equal(plaintext, output.ToArray());
        }

        using var encrypting = new EncryptingStream(new MemoryStream(plaintext), Key, Ad, 8);
        using var streamed = new MemoryStream();
        encrypting.CopyTo(streamed);
        var destination = new byte[size];
        ObjectCipher.Decrypt(streamed.ToArray(), destination, Key, Ad);
        Assert.Equal(plaintext, destination);
    }

    [Fact]
    public void A_tampered_segment_fails_and_the_destination_holds_no_plaintext()
    {
        var plaintext = RandomNumberGenerator.GetBytes(4 * 256);
        var ciphertext = ObjectCipher.Encrypt(plaintext, Key, Ad, 8);
        ciphertext[StreamFormat.HeaderSize + 3 * (256 + 16) + 5] ^= 1; // last segment
        var destination = new byte[plaintext.Length];
        var e = Assert.Throws<AuthenticationFailedException>(() => ObjectCipher.Decrypt(ciphertext, destination, Key, Ad));
        Assert.Equal(3, e.Segment);
        Assert.All(destination, b => Assert.Equal(0, b));
    }

    [Fact]
    public void A_truncated_stream_fails_at_its_end()
    {
        var ciphertext = ObjectCipher.Encrypt(RandomNumberGenerator.GetBytes(3 * 256), Key, Ad, 8);
        var cut = ciphertext[..^(256 + 16)]; // drop the final segment: the previous one was not sealed as final
        Assert.Throws<AuthenticationFailedException>(() => ObjectCipher.Decrypt(cut, Key, Ad));
    }
}
