namespace Coffre.Crypto.Tests;

/// <summary>
/// Every modification must throw <see cref="AuthenticationFailedException"/> naming the right part
/// and segment, and must never release plaintext other than a prefix of the true plaintext made of
/// verified segments.
/// </summary>
public class TamperTests
{
    private const int E = 8;
    private const int S = 256;
    private const int Sealed = S + 16;
    private static readonly byte[] Plaintext = TestData.Pattern(3 * S + 5); // 4 segments, last holds 5 bytes
    private static readonly byte[] Ciphertext = TestData.Encrypt(Plaintext, E, TestData.Ad);

    internal static AuthenticationFailedException DecryptFails(byte[] ciphertext, byte[]? plaintext = null, byte[]? ad = null, byte[]? key = null, int readSize = 100, bool async = false)
    {
        plaintext ??= Plaintext;
        using var decrypting = new DecryptingStream(new MemoryStream(ciphertext), key ?? TestData.Key, ad ?? TestData.Ad);
        var released = new MemoryStream();
        var buffer = new byte[readSize];
        var e = Assert.Throws<AuthenticationFailedException>(() =>
        {
            while (true)
            {
                int n = async ? decrypting.ReadAsync(buffer).AsTask().GetAwaiter().GetResult() : decrypting.Read(buffer);
                if (n == 0) break;
                released.Write(buffer, 0, n);
            }
        });
        var got = released.ToArray();
        Assert.True(got.Length <= plaintext.Length && got.AsSpan().SequenceEqual(plaintext.AsSpan(0, got.Length)), "released bytes that are not the true plaintext");
        Assert.True(got.Length % S == 0, "released part of an unverified segment");
        // The failure sticks.
        Assert.Throws<AuthenticationFailedException>(() => decrypting.Read(buffer));
        Assert.DoesNotContain(Convert.ToHexString(key ?? TestData.Key), e.Message, StringComparison.OrdinalIgnoreCase);
        return e;
    }

    private static void AssertAt(AuthenticationFailedException e, CiphertextPart part, long segment = -1)
    {
        Assert.Equal(part, e.Part);
        Assert.Equal(segment, e.Segment);
    }

    [Fact]
    public void BaselineDecrypts() => Assert.Equal(Plaintext, TestData.Decrypt(Ciphertext, TestData.Ad));

    [Theory]
    [InlineData(0x01, 100, false)]
    [InlineData(0x80, 100, true)]
    [InlineData(0x10, 4096, false)] // direct decryption into the caller's buffer
    [InlineData(0x04, 4096, true)]
    public void FlippingAnyBitPatternInAnyByteFailsAtThatPart(byte mask, int readSize, bool async)
    {
        for (int p = 0; p < Ciphertext.Length; p++)
        {
            var c = (byte[])Ciphertext.Clone();
            c[p] ^= mask;
            var e = DecryptFails(c, readSize: readSize, async: async);
            if (p < StreamFormat.HeaderSize) AssertAt(e, CiphertextPart.Header);
            else AssertAt(e, CiphertextPart.Segment, (p - StreamFormat.HeaderSize) / Sealed);
        }
    }

    [Theory]
    [InlineData(0, "magic")]
    [InlineData(4, "version")]
    [InlineData(5, "exponent")]
    [InlineData(6, "reserved")]
    [InlineData(7, "reserved")]
    [InlineData(8, "salt")]
    [InlineData(71, "commitment")]
    public void HeaderFieldsAreChecked(int offset, string field)
    {
        var c = (byte[])Ciphertext.Clone();
        c[offset] ^= 0x01;
        var e = DecryptFails(c);
        AssertAt(e, CiphertextPart.Header);
        Assert.Throws<AuthenticationFailedException>(() => DecryptingStream.ForRange(new MemoryStream(), c.AsSpan(0, 72), c.Length, TestData.Key, TestData.Ad, 0, 1));
        _ = field;
    }

    [Fact]
    public void ExponentOutOfRangeIsRejectedByParse()
    {
        var c = (byte[])Ciphertext.Clone();
        c[5] = 25;
        Assert.Equal(CiphertextPart.Header, Assert.Throws<AuthenticationFailedException>(() => StreamHeader.Parse(c.AsSpan(0, 72))).Part);
        c[5] = 7;
        Assert.Equal(CiphertextPart.Header, Assert.Throws<AuthenticationFailedException>(() => StreamHeader.Parse(c.AsSpan(0, 72))).Part);
    }

    [Theory]
    [InlineData(100, false)]
    [InlineData(4096, true)]
    public void TruncationAtEveryLengthFails(int readSize, bool async)
    {
        for (int length = 0; length < Ciphertext.Length; length++)
        {
            var e = DecryptFails(Ciphertext[..length], readSize: readSize, async: async);
            if (length < StreamFormat.HeaderSize)
            {
                AssertAt(e, CiphertextPart.Header);
                continue;
            }
            int body = length - StreamFormat.HeaderSize;
            int full = body / Sealed, rest = body % Sealed;
            // Cut at a boundary: the last complete segment is read as final and fails; the header
            // alone fails at segment 0. Cut inside a segment: that segment fails.
            AssertAt(e, CiphertextPart.Segment, rest == 0 ? Math.Max(0, full - 1) : full);
        }
    }

    [Fact]
    public void EmptyInputAndHeaderOnlyFail()
    {
        AssertAt(DecryptFails([]), CiphertextPart.Header);
        AssertAt(DecryptFails(Ciphertext[..72]), CiphertextPart.Segment, 0);
    }

    [Fact]
    public void RemovingTheWholeFinalSegmentFailsAtTheNewLastSegment()
    {
        var c = Ciphertext[..(72 + 3 * Sealed)];
        AssertAt(DecryptFails(c), CiphertextPart.Segment, 2);
        // Also with a full final segment: 3·S plaintext, drop the last segment.
        var p = TestData.Pattern(3 * S);
        var full = TestData.Encrypt(p, E, TestData.Ad);
        AssertAt(DecryptFails(full[..(72 + 2 * Sealed)], p), CiphertextPart.Segment, 1);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(300)]
    public void AppendingBytesFails(int extra)
    {
        var c = Ciphertext.Concat(new byte[extra]).ToArray();
        AssertAt(DecryptFails(c), CiphertextPart.Segment, 3);

        var p = TestData.Pattern(2 * S); // full final segment
        var full = TestData.Encrypt(p, E, TestData.Ad);
        AssertAt(DecryptFails(full.Concat(new byte[extra]).ToArray(), p), CiphertextPart.Segment, 1);
    }

    [Fact]
    public void AppendingAnotherStreamsSegmentFails()
    {
        var p = TestData.Pattern(2 * S);
        var a = TestData.Encrypt(p, E, TestData.Ad);
        var c = a.Concat(a.AsSpan(72, Sealed).ToArray()).ToArray();
        AssertAt(DecryptFails(c, p), CiphertextPart.Segment, 1);
    }

    [Fact]
    public void SwappingTwoSegmentsFails()
    {
        var c = (byte[])Ciphertext.Clone();
        Ciphertext.AsSpan(72, Sealed).CopyTo(c.AsSpan(72 + Sealed));
        Ciphertext.AsSpan(72 + Sealed, Sealed).CopyTo(c.AsSpan(72));
        AssertAt(DecryptFails(c), CiphertextPart.Segment, 0);

        var d = (byte[])Ciphertext.Clone(); // swap 1 and 2
        Ciphertext.AsSpan(72 + Sealed, Sealed).CopyTo(d.AsSpan(72 + 2 * Sealed));
        Ciphertext.AsSpan(72 + 2 * Sealed, Sealed).CopyTo(d.AsSpan(72 + Sealed));
        AssertAt(DecryptFails(d), CiphertextPart.Segment, 1);
    }

    [Fact]
    public void SwappingTwoStreamsHeadersFails()
    {
        // Same key and AD: each header is valid, but the body belongs to another segment key.
        var other = TestData.Encrypt(Plaintext, E, TestData.Ad);
        var c = (byte[])Ciphertext.Clone();
        other.AsSpan(0, 72).CopyTo(c);
        AssertAt(DecryptFails(c), CiphertextPart.Segment, 0);
    }

    [Fact]
    public void WrongAssociatedDataOrKeyFailsAtTheHeader()
    {
        AssertAt(DecryptFails(Ciphertext, ad: "bucket/other"u8.ToArray()), CiphertextPart.Header);
        AssertAt(DecryptFails(Ciphertext, ad: []), CiphertextPart.Header);
        AssertAt(DecryptFails(Ciphertext, key: TestData.OtherKey), CiphertextPart.Header);
    }

    [Fact]
    public void AnEmptyFinalSegmentAfterFullSegmentsIsRejected()
    {
        // Correctly sealed but not canonical: S bytes, then an empty final segment.
        var c = ForgeWithKey([(S, false), (0, true)]);
        AssertAt(DecryptFails(c, TestData.Pattern(S)), CiphertextPart.Segment, 1);
        Assert.Equal(CiphertextPart.Length, Assert.Throws<AuthenticationFailedException>(() => StreamFormat.PlaintextLength(c.Length, E)).Part);
    }

    [Fact]
    public void AShortNonFinalSegmentIsRejected()
    {
        // A non-final segment must hold S bytes: a short segment sealed as non-final, then a final one.
        var c = ForgeWithKey([(10, false), (10, true)]);
        DecryptFails(c, TestData.Pattern(20));
    }

    /// <summary>Builds a stream with the real key but arbitrary segment lengths and final flags.</summary>
    private static byte[] ForgeWithKey((int Length, bool Final)[] segments)
    {
        Span<byte> key = stackalloc byte[32];
        var header = StreamHeader.Create(E, TestData.Key, TestData.Ad, TestData.Derive("forge salt", 32), key);
        using var cipher = new SegmentCipher(key);
        var output = new List<byte>(header.Bytes.ToArray());
        long offset = 0;
        for (int i = 0; i < segments.Length; i++)
        {
            var buffer = new byte[segments[i].Length + 16];
            TestData.Pattern(offset + segments[i].Length).AsSpan((int)offset).CopyTo(buffer);
            cipher.Seal(i, segments[i].Final, buffer, segments[i].Length);
            output.AddRange(buffer);
            offset += segments[i].Length;
        }
        return output.ToArray();
    }

    // ---- range mode ----

    private static AuthenticationFailedException RangeFails(byte[] ciphertext, long start, long end, long? ciphertextLength = null, Stream? segments = null)
    {
        long length = ciphertextLength ?? ciphertext.Length;
        var plan = StreamFormat.PlanRange(length, E, start, end);
        segments ??= new MemoryStream(ciphertext, (int)plan.CiphertextOffset, (int)plan.CiphertextLength);
        using var decrypting = DecryptingStream.ForRange(segments, ciphertext.AsSpan(0, 72), length, TestData.Key, TestData.Ad, start, end);
        var released = new MemoryStream();
        var e = Assert.Throws<AuthenticationFailedException>(() => decrypting.CopyTo(released, 50));
        var got = released.ToArray();
        Assert.True(got.AsSpan().SequenceEqual(Plaintext.AsSpan((int)start, got.Length)));
        return e;
    }

    [Fact]
    public void RangeModeFailsOnATamperedSegmentInRangeAndIgnoresOthers()
    {
        for (int tampered = 0; tampered < 4; tampered++)
        {
            var c = (byte[])Ciphertext.Clone();
            c[72 + tampered * Sealed + 3] ^= 1;
            // Range over segments 1..2.
            if (tampered is 1 or 2)
                AssertAt(RangeFails(c, S + 10, 3 * S - 1), CiphertextPart.Segment, tampered);
            else
                Assert.Equal(Plaintext[(S + 10)..(3 * S - 1)], TestData.DecryptRange(c, S + 10, 3 * S - 1, TestData.Ad));
        }
    }

    [Fact]
    public void RangeModeChecksTheFinalFlag()
    {
        // The backend dropped the final segment and reports the shorter length: segment 2 is now
        // expected to be final and fails.
        var c = Ciphertext[..(72 + 3 * Sealed)];
        AssertAt(RangeFails(c, 2 * S, 3 * S), CiphertextPart.Segment, 2);
        // Lengths no plaintext encrypts to are refused before any read.
        foreach (var impossible in new long[] { 72 + 3 * Sealed + 5, 72 + 3 * Sealed + 16, 71, 72, 87 })
            Assert.Equal(CiphertextPart.Length, Assert.Throws<AuthenticationFailedException>(() => StreamFormat.PlanRange(impossible, E, 0, 0)).Part);
        // A longer, plausible length: segment 3 is then expected to be longer and final; the
        // source holds fewer bytes and the segment fails.
        long longer = Ciphertext.Length + 5;
        var plan = StreamFormat.PlanRange(longer, E, 3 * S, 3 * S + 10);
        var source = new MemoryStream(Ciphertext, (int)plan.CiphertextOffset, Ciphertext.Length - (int)plan.CiphertextOffset);
        AssertAt(RangeFails(Ciphertext, 3 * S, 3 * S + 5, longer, source), CiphertextPart.Segment, 3);
    }

    [Fact]
    public void RangeModeFailsWhenTheSegmentsSourceIsShort()
    {
        var plan = StreamFormat.PlanRange(Ciphertext.Length, E, 0, Plaintext.Length);
        var shortSource = new MemoryStream(Ciphertext, (int)plan.CiphertextOffset, (int)plan.CiphertextLength - 1);
        AssertAt(RangeFails(Ciphertext, 0, Plaintext.Length, segments: shortSource), CiphertextPart.Segment, 3);
    }

    [Fact]
    public void RangeModeChecksTheHeaderCommitment()
    {
        var e = Assert.Throws<AuthenticationFailedException>(() =>
            DecryptingStream.ForRange(new MemoryStream(), Ciphertext.AsSpan(0, 72), Ciphertext.Length, TestData.Key, "other"u8, 0, 10));
        AssertAt(e, CiphertextPart.Header);
    }
}
