using System.Security.Cryptography;
using System.Text;

namespace Coffre.Crypto.Tests;

internal static class TestData
{
    public static readonly byte[] Key = Derive("dek", 32);
    public static readonly byte[] OtherKey = Derive("other dek", 32);
    public static readonly byte[] Ad = "bucket/object/key-1"u8.ToArray();

    public static byte[] Derive(string label, int length)
    {
        var result = new byte[length];
        var block = SHA256.HashData(Encoding.UTF8.GetBytes("coffre/test/" + label));
        for (int i = 0; i < length; i += 32)
        {
            block.AsSpan(0, Math.Min(32, length - i)).CopyTo(result.AsSpan(i));
            block = SHA256.HashData(block);
        }
        return result;
    }

    /// <summary>p[i] = i mod 251 (the test-vector plaintext rule).</summary>
    public static byte[] Pattern(long length)
    {
        var result = new byte[length];
        for (long i = 0; i < length; i++) result[i] = (byte)(i % 251);
        return result;
    }

    public static byte[] Random(int length)
    {
        var result = new byte[length];
        RandomNumberGenerator.Fill(result);
        return result;
    }

    public static byte[] Encrypt(byte[] plaintext, int e, byte[]? ad = null, byte[]? key = null, byte[]? salt = null, int readSize = 1 << 20, bool async = false)
    {
        using var source = new MemoryStream(plaintext, writable: false);
        using var encrypting = new EncryptingStream(source, key ?? Key, ad ?? [], e, leaveOpen: false, salt ?? []);
        var result = ReadAll(encrypting, readSize, async);
        Assert.Equal(StreamFormat.CiphertextLength(plaintext.Length, e), result.Length);
        return result;
    }

    public static byte[] Decrypt(byte[] ciphertext, byte[]? ad = null, byte[]? key = null, int readSize = 1 << 20, bool async = false)
    {
        using var source = new MemoryStream(ciphertext, writable: false);
        using var decrypting = new DecryptingStream(source, key ?? Key, ad ?? []);
        return ReadAll(decrypting, readSize, async);
    }

    public static byte[] DecryptRange(byte[] ciphertext, long start, long end, byte[]? ad = null, int readSize = 1 << 20, bool async = false)
    {
        var header = StreamHeader.Parse(ciphertext.AsSpan(0, StreamFormat.HeaderSize));
        var plan = StreamFormat.PlanRange(ciphertext.Length, header.SegmentExponent, start, end);
        using var segments = new MemoryStream(ciphertext, (int)plan.CiphertextOffset, (int)plan.CiphertextLength, writable: false);
        using var decrypting = DecryptingStream.ForRange(segments, ciphertext.AsSpan(0, StreamFormat.HeaderSize), ciphertext.Length, Key, ad ?? [], start, end);
        return ReadAll(decrypting, readSize, async);
    }

    public static byte[] ReadAll(Stream stream, int readSize, bool async)
    {
        using var output = new MemoryStream();
        var buffer = new byte[readSize];
        while (true)
        {
            int n = async ? stream.ReadAsync(buffer.AsMemory()).AsTask().GetAwaiter().GetResult() : stream.Read(buffer.AsSpan());
            if (n == 0) break;
            Assert.InRange(n, 1, readSize);
            output.Write(buffer, 0, n);
        }
        return output.ToArray();
    }
}

/// <summary>A stream that returns at most <c>max</c> bytes per read: sources are not obliged to fill buffers.</summary>
internal sealed class TrickleStream(Stream inner, int max) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, max));
    public override int Read(Span<byte> buffer) => inner.Read(buffer[..Math.Min(buffer.Length, max)]);
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        return await inner.ReadAsync(buffer[..Math.Min(buffer.Length, max)], cancellationToken);
    }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
