using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Coffre.Crypto;

namespace Coffre.Bench.Crypto;

/// <summary>
/// Throughput of the object format over a 64 MiB in-memory buffer, per segment size, against raw
/// AES-256-GCM over the same bytes in the same chunk size (the baseline of each category).
/// Reads use 80 KiB buffers, what Stream.CopyTo/CopyToAsync use by default.
/// Run: dotnet run -c Release --project bench/Coffre.Bench -- --filter '*StreamFormat*'
/// (the job is set by <see cref="ThroughputConfig"/>: 40 short iterations, mean, median and minimum shown, so that it is
/// usable on a shared machine and finishes in a few minutes).
/// </summary>
[Config(typeof(ThroughputConfig))]
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class StreamFormatBenchmarks
{
    private const int Size = 64 * 1024 * 1024;
    private const int ReadSize = 81920;

    [Params(14, 15, 16)]
    public int SegmentExponent { get; set; }

    private byte[] _plaintext = [];
    private byte[] _ciphertext = [];
    private byte[] _output = [];
    private byte[] _rawCiphertext = [];
    private byte[] _readBuffer = [];
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly byte[] _ad = "bench-bucket/bench-object"u8.ToArray();
    private AesGcm _raw = null!;

    [GlobalSetup]
    public void Setup()
    {
        _plaintext = RandomNumberGenerator.GetBytes(Size);
        _ciphertext = ObjectCipher.Encrypt(_plaintext, _key, _ad, SegmentExponent);
        _output = new byte[_ciphertext.Length];
        _readBuffer = new byte[ReadSize];
        _raw = new AesGcm(_key, 16);
        RawAesGcmEncrypt();
        _rawCiphertext = (byte[])_output.Clone();
        RawAesGcmDecrypt();
        if (!_output.AsSpan(0, Size).SequenceEqual(_plaintext)) throw new InvalidOperationException("raw baseline broken");
        if (!ObjectCipher.Decrypt(_ciphertext, _key, _ad).AsSpan().SequenceEqual(_plaintext)) throw new InvalidOperationException("round trip broken");
    }

    [GlobalCleanup]
    public void Cleanup() => _raw.Dispose();

    [Benchmark(Baseline = true), BenchmarkCategory("Encrypt")]
    public void RawAesGcmEncrypt()
    {
        int s = 1 << SegmentExponent;
        Span<byte> nonce = stackalloc byte[12];
        int o = 0;
        long index = 0;
        for (int i = 0; i < Size; i += s, index++)
        {
            int n = Math.Min(s, Size - i);
            SegmentCipherNonce(nonce, index, i + n == Size);
            _raw.Encrypt(nonce, _plaintext.AsSpan(i, n), _output.AsSpan(o, n), _output.AsSpan(o + n, 16));
            o += n + 16;
        }
    }

    /// <summary>The format over a buffer in memory: header, then each segment sealed straight from input to output.</summary>
    [Benchmark, BenchmarkCategory("Encrypt")]
    public void ObjectCipherEncryptSpan() => ObjectCipher.Encrypt(_plaintext, _output, _key, _ad, SegmentExponent);

    [Benchmark, BenchmarkCategory("Encrypt")]
    public long EncryptingStreamRead()
    {
        using var stream = new EncryptingStream(new MemoryStream(_plaintext, writable: false), _key, _ad, SegmentExponent);
        long total = 0;
        int n;
        while ((n = stream.Read(_readBuffer)) > 0) total += n;
        return total;
    }

    [Benchmark, BenchmarkCategory("Encrypt")]
    public async Task<long> EncryptingStreamReadAsync()
    {
        await using var stream = new EncryptingStream(new MemoryStream(_plaintext, writable: false), _key, _ad, SegmentExponent);
        long total = 0;
        int n;
        while ((n = await stream.ReadAsync(_readBuffer)) > 0) total += n;
        return total;
    }

    /// <summary>
    /// What any pull-based stream pays besides the cipher: copying the 64 MiB out of the source
    /// stream, in the reads EncryptingStream makes (S + 1 bytes into an S + 16 buffer).
    /// </summary>
    [Benchmark, BenchmarkCategory("Encrypt")]
    public long SourceCopyOnlyEncryptReads()
    {
        using var source = new MemoryStream(_plaintext, writable: false);
        var target = _output.AsSpan(0, (1 << SegmentExponent) + 16);
        int want = (1 << SegmentExponent) + 1;
        long total = 0;
        int n;
        while ((n = source.Read(target[..want])) > 0) total += n;
        return total;
    }

    /// <summary>The same for DecryptingStream (S + 17 bytes per read).</summary>
    [Benchmark, BenchmarkCategory("Decrypt")]
    public long SourceCopyOnlyDecryptReads()
    {
        using var source = new MemoryStream(_ciphertext, writable: false);
        var target = _output.AsSpan(0, (1 << SegmentExponent) + 17);
        long total = 0;
        int n;
        while ((n = source.Read(target)) > 0) total += n;
        return total;
    }

    [Benchmark, BenchmarkCategory("Decrypt")]
    public void ObjectCipherDecryptSpan() => ObjectCipher.Decrypt(_ciphertext, _output.AsSpan(0, Size), _key, _ad);

    [Benchmark(Baseline = true), BenchmarkCategory("Decrypt")]
    public void RawAesGcmDecrypt()
    {
        int s = 1 << SegmentExponent;
        Span<byte> nonce = stackalloc byte[12];
        int o = 0;
        long index = 0;
        for (int i = 0; i < Size; i += s, index++)
        {
            int n = Math.Min(s, Size - i);
            SegmentCipherNonce(nonce, index, i + n == Size);
            _raw.Decrypt(nonce, _rawCiphertext.AsSpan(o, n), _rawCiphertext.AsSpan(o + n, 16), _output.AsSpan(i, n));
            o += n + 16;
        }
    }

    [Benchmark, BenchmarkCategory("Decrypt")]
    public long DecryptingStreamRead()
    {
        using var stream = new DecryptingStream(new MemoryStream(_ciphertext, writable: false), _key, _ad);
        long total = 0;
        int n;
        while ((n = stream.Read(_readBuffer)) > 0) total += n;
        return total;
    }

    [Benchmark, BenchmarkCategory("Decrypt")]
    public async Task<long> DecryptingStreamReadAsync()
    {
        await using var stream = new DecryptingStream(new MemoryStream(_ciphertext, writable: false), _key, _ad);
        long total = 0;
        int n;
        while ((n = await stream.ReadAsync(_readBuffer)) > 0) total += n;
        return total;
    }

    private static void SegmentCipherNonce(Span<byte> nonce, long index, bool final)
    {
        nonce.Clear();
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(nonce[3..], index);
        nonce[11] = final ? (byte)1 : (byte)0;
    }
}
