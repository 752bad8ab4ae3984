namespace Coffre.Crypto.Tests;

public class RoundTripTests
{
    public static TheoryData<int, bool> Sizes()
    {
        var data = new TheoryData<int, bool>();
        const int s = 256;
        foreach (var size in new[] { 0, 1, s - 1, s, s + 1, 2 * s, 3 * s + 5, 10 * s - 1 })
        {
            data.Add(size, false);
            data.Add(size, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void RoundTripsAtSegmentBoundaries(int size, bool withAd)
    {
        var plaintext = TestData.Random(size);
        var ad = withAd ? TestData.Ad : [];
        var ciphertext = TestData.Encrypt(plaintext, 8, ad);
        Assert.Equal(StreamFormat.HeaderSize + size + 16 * StreamFormat.SegmentCount(size, 8), ciphertext.Length);
        Assert.Equal(plaintext, TestData.Decrypt(ciphertext, ad));
        Assert.Equal(size, StreamFormat.PlaintextLength(ciphertext.Length, 8));
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(7, false)]
    [InlineData(7, true)]
    [InlineData(271, false)]   // S + 16 − 1 around e = 8
    [InlineData(272, true)]    // exactly one sealed segment at e = 8
    [InlineData(273, false)]
    [InlineData(4096, true)]   // several sealed segments per read
    [InlineData(1 << 20, false)]
    public void OddReadSizesGiveTheSameBytes(int readSize, bool async)
    {
        var plaintext = TestData.Random(3 * 256 + 5);
        var salt = TestData.Derive("salt", 32);
        var expected = TestData.Encrypt(plaintext, 8, TestData.Ad, salt: salt);
        var ciphertext = TestData.Encrypt(plaintext, 8, TestData.Ad, salt: salt, readSize: readSize, async: async);
        Assert.Equal(expected, ciphertext);
        Assert.Equal(plaintext, TestData.Decrypt(ciphertext, TestData.Ad, readSize: readSize, async: async));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SeveralMebibytesAtTheDefaultSegmentSize(bool async)
    {
        var plaintext = TestData.Random(5 * 1024 * 1024 + 12345);
        var ciphertext = TestData.Encrypt(plaintext, StreamFormat.DefaultSegmentExponent, TestData.Ad, async: async);
        Assert.Equal(plaintext, TestData.Decrypt(ciphertext, TestData.Ad, async: async));
        Assert.Equal(plaintext, TestData.Decrypt(ciphertext, TestData.Ad, readSize: 81920, async: !async));
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(13, true)]
    public void SourcesThatReturnShortReadsWork(int max, bool async)
    {
        var plaintext = TestData.Random(2 * 256 + 3);
        var salt = TestData.Derive("salt", 32);
        var expected = TestData.Encrypt(plaintext, 8, salt: salt);

        using var encrypting = new EncryptingStream(new TrickleStream(new MemoryStream(plaintext), max), TestData.Key, [], 8, false, salt);
        var ciphertext = TestData.ReadAll(encrypting, 1000, async);
        Assert.Equal(expected, ciphertext);

        using var decrypting = new DecryptingStream(new TrickleStream(new MemoryStream(ciphertext), max), TestData.Key, []);
        Assert.Equal(plaintext, TestData.ReadAll(decrypting, 1000, async));
    }

    [Fact]
    public async Task ObjectCipherRoundTrips()
    {
        var plaintext = TestData.Random(300_000);
        using var ciphertext = new MemoryStream();
        await ObjectCipher.EncryptAsync(new MemoryStream(plaintext), ciphertext, TestData.Key, TestData.Ad);
        Assert.Equal(StreamFormat.CiphertextLength(plaintext.Length, StreamFormat.DefaultSegmentExponent), ciphertext.Length);
        ciphertext.Position = 0;
        using var output = new MemoryStream();
        await ObjectCipher.DecryptAsync(ciphertext, output, TestData.Key, TestData.Ad);
        Assert.Equal(plaintext, output.ToArray());

        var small = ObjectCipher.Encrypt(plaintext.AsSpan(0, 1000), TestData.Key, TestData.Ad, 8);
        Assert.Equal(plaintext.AsSpan(0, 1000).ToArray(), ObjectCipher.Decrypt(small, TestData.Key, TestData.Ad));
    }

    [Fact]
    public void EveryStreamHasAFreshSaltAndKey()
    {
        var plaintext = TestData.Pattern(100);
        var a = TestData.Encrypt(plaintext, 8);
        var b = TestData.Encrypt(plaintext, 8);
        Assert.NotEqual(a.AsSpan(8, 32).ToArray(), b.AsSpan(8, 32).ToArray());
        Assert.NotEqual(a.AsSpan(72).ToArray(), b.AsSpan(72).ToArray());
    }

    [Fact]
    public void HeaderLayoutFollowsTheSpec()
    {
        var c = TestData.Encrypt([], 8);
        Assert.Equal("CFRE"u8.ToArray(), c.AsSpan(0, 4).ToArray());
        Assert.Equal(1, c[4]);
        Assert.Equal(8, c[5]);
        Assert.Equal(0, c[6]);
        Assert.Equal(0, c[7]);
        var header = StreamHeader.Parse(c.AsSpan(0, 72));
        Assert.Equal(8, header.SegmentExponent);
        Assert.Equal(256, header.SegmentSize);
        Assert.DoesNotContain(Convert.ToHexString(header.Commitment), header.ToString());
    }

    [Fact]
    public void DefaultExponentIsWrittenByDefault()
    {
        using var encrypting = new EncryptingStream(new MemoryStream(), TestData.Key, []);
        Assert.Equal(StreamFormat.DefaultSegmentExponent, encrypting.Header.SegmentExponent);
    }

    [Fact]
    public void ArgumentsAreChecked()
    {
        Assert.Throws<ArgumentException>(() => new EncryptingStream(new MemoryStream(), new byte[31], []));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EncryptingStream(new MemoryStream(), TestData.Key, [], 7));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EncryptingStream(new MemoryStream(), TestData.Key, [], 25));
        Assert.Throws<ArgumentException>(() => new DecryptingStream(new MemoryStream(), new byte[16], []));
    }

    [Fact]
    public void DisposeClosesTheSourceUnlessLeftOpen()
    {
        var source = new MemoryStream();
        new EncryptingStream(source, TestData.Key, [], leaveOpen: true).Dispose();
        Assert.True(source.CanRead);
        new EncryptingStream(source, TestData.Key, []).Dispose();
        Assert.False(source.CanRead);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AllocationsDoNotGrowWithTheNumberOfSegments(bool decrypt)
    {
        var small = TestData.Random(1 << 20);
        var large = TestData.Random(8 << 20);
        var smallCt = TestData.Encrypt(small, 14);
        var largeCt = TestData.Encrypt(large, 14);
        var buffer = new byte[1 << 20];

        long Measure(byte[] plaintext, byte[] ciphertext)
        {
            var source = new MemoryStream(decrypt ? ciphertext : plaintext, writable: false);
            long before = GC.GetAllocatedBytesForCurrentThread();
            using Stream s = decrypt ? new DecryptingStream(source, TestData.Key, []) : new EncryptingStream(source, TestData.Key, [], 14);
            while (s.Read(buffer) > 0) { }
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        // Minimum of a few runs: tiered JIT and pool warm-up allocate transiently.
        long a = Enumerable.Range(0, 4).Min(_ => Measure(small, smallCt));
        long b = Enumerable.Range(0, 4).Min(_ => Measure(large, largeCt)); // 8× the segments (64 → 512)
        Assert.True(b - a < 1024, $"allocated {a} B for 64 segments and {b} B for 512");
    }
}

public class FailureStateTests
{
    /// <summary>Returns bytes up to <c>failAt</c>, then throws once (losing the bytes of that read), then would continue.</summary>
    private sealed class FlakyStream(byte[] data, int failAt) : Stream
    {
        private readonly MemoryStream _inner = new(data);
        private bool _failed;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer)
        {
            if (!_failed && _inner.Position + buffer.Length > failAt)
            {
                _failed = true;
                _inner.Position = failAt;
                throw new IOException("source failed");
            }
            return _inner.Read(buffer);
        }
    }

    [Theory]
    [InlineData(100)]
    [InlineData(4096)]
    public void AnEncryptingStreamDoesNotContinueAfterASourceFailure(int readSize)
    {
        var plaintext = TestData.Pattern(3 * 256 + 5);
        using var encrypting = new EncryptingStream(new FlakyStream(plaintext, 300), TestData.Key, [], 8);
        var buffer = new byte[readSize];
        Assert.Throws<IOException>(() => { while (encrypting.Read(buffer) > 0) { } });
        var again = Assert.Throws<IOException>(() => encrypting.Read(buffer));
        Assert.Contains("cannot continue", again.Message);
    }

    [Fact]
    public void ADecryptingStreamDoesNotContinueAfterASourceFailure()
    {
        var ciphertext = TestData.Encrypt(TestData.Pattern(3 * 256 + 5), 8);
        using var decrypting = new DecryptingStream(new FlakyStream(ciphertext, 400), TestData.Key, []);
        var buffer = new byte[100];
        Assert.Throws<IOException>(() => { while (decrypting.Read(buffer) > 0) { } });
        Assert.Throws<IOException>(() => decrypting.Read(buffer));
    }
}
