using System.Security.Cryptography;

namespace Coffre.Storage.Tests;

internal static class TestData
{
    public static byte[] Random(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static Dictionary<string, string> Meta(params (string Name, string Value)[] pairs) =>
        pairs.ToDictionary(p => p.Name, p => p.Value);

    public static async Task<byte[]> ReadAllAsync(BlobReadResult result)
    {
        using var ms = new MemoryStream();
        await result.Content.CopyToAsync(ms);
        return ms.ToArray();
    }
}

/// <summary>
/// A non-seekable stream of unknown length that generates deterministic pseudo-random bytes on the fly,
/// hashing them as it goes: the store can only buffer it if it buffers on its own.
/// </summary>
internal sealed class GeneratorStream(long length, int seed) : Stream
{
    private readonly Random _random = new(seed);
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _produced;

    public long Produced => _produced;
    public byte[] Sha256() => _hash.GetCurrentHash();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = (int)Math.Min(Math.Min(buffer.Length, 64 * 1024), length - _produced);
        if (n <= 0) return 0;
        _random.NextBytes(buffer[..n]);
        _hash.AppendData(buffer[..n]);
        _produced += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
