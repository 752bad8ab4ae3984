namespace Coffre.Crypto;

/// <summary>
/// Constants and length arithmetic of the Coffre stream format v1 (docs/format.md §1–2).
/// Pure functions: no I/O, no key material.
/// </summary>
public static class StreamFormat
{
    public const int HeaderSize = 72;
    public const int TagSize = 16;
    public const int NonceSize = 12;
    public const int KeySize = 32;
    public const int SaltSize = 32;
    public const int CommitmentSize = 32;
    public const byte Version = 1;
    public const int DefaultSegmentExponent = 16;
    public const int MinSegmentExponent = 8;
    public const int MaxSegmentExponent = 24;

    /// <summary>"CFRE".</summary>
    public static ReadOnlySpan<byte> Magic => "CFRE"u8;

    /// <summary>Plaintext segment size <c>S = 2^e</c>.</summary>
    public static int SegmentSize(int segmentExponent)
    {
        CheckExponent(segmentExponent);
        return 1 << segmentExponent;
    }

    /// <summary>Number of segments <c>n = max(1, ceil(L / S))</c>.</summary>
    public static long SegmentCount(long plaintextLength, int segmentExponent)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(plaintextLength);
        long s = SegmentSize(segmentExponent);
        return plaintextLength == 0 ? 1 : (plaintextLength - 1) / s + 1;
    }

    /// <summary>Stream length <c>C = 72 + L + 16·n</c>.</summary>
    public static long CiphertextLength(long plaintextLength, int segmentExponent)
    {
        long n = SegmentCount(plaintextLength, segmentExponent);
        return checked(HeaderSize + plaintextLength + TagSize * n);
    }

    /// <summary>
    /// Plaintext length of a stream of <paramref name="ciphertextLength"/> bytes. Throws
    /// <see cref="AuthenticationFailedException"/> (<see cref="CiphertextPart.Length"/>) when no
    /// plaintext encrypts to that length.
    /// </summary>
    public static long PlaintextLength(long ciphertextLength, int segmentExponent)
    {
        long s = SegmentSize(segmentExponent);
        long b = ciphertextLength - HeaderSize;
        if (b < TagSize)
            throw new AuthenticationFailedException(CiphertextPart.Length, -1,
                $"Authentication failed: a stream of {ciphertextLength} bytes is too short to hold a header and a segment.");
        long n = (b - 1) / (s + TagSize) + 1;
        long last = b - (n - 1) * (s + TagSize);
        // last is in (0, S+16] by construction of n; it must hold a tag, and only the empty
        // plaintext (n = 1) has an empty final segment.
        if (last < TagSize || (n > 1 && last == TagSize))
            throw new AuthenticationFailedException(CiphertextPart.Length, -1,
                $"Authentication failed: no plaintext encrypts to a stream of {ciphertextLength} bytes with segment size 2^{segmentExponent}; the stream was truncated or extended.");
        return b - TagSize * n;
    }

    /// <summary>
    /// Plans the decryption of plaintext bytes [<paramref name="start"/>, <paramref name="endExclusive"/>)
    /// of a stream of <paramref name="ciphertextLength"/> bytes: which segments to fetch and how
    /// much of their plaintext to drop and keep.
    /// </summary>
    public static SegmentRange PlanRange(long ciphertextLength, int segmentExponent, long start, long endExclusive)
    {
        long plaintextLength = PlaintextLength(ciphertextLength, segmentExponent);
        if (start < 0 || start > plaintextLength)
            throw new ArgumentOutOfRangeException(nameof(start), start, $"The range start must be within [0, {plaintextLength}].");
        if (endExclusive < start || endExclusive > plaintextLength)
            throw new ArgumentOutOfRangeException(nameof(endExclusive), endExclusive, $"The range end must be within [{start}, {plaintextLength}].");
        int s = 1 << segmentExponent;
        long segmentCount = SegmentCount(plaintextLength, segmentExponent);
        long first = start / s;
        if (start == endExclusive)
        {
            // Empty range: nothing to fetch.
            first = Math.Min(first, segmentCount - 1);
            return new SegmentRange(first, first - 1, SegmentOffset(first, segmentExponent), 0, 0, 0, segmentCount, segmentExponent);
        }
        long last = (endExclusive - 1) / s;
        long offset = SegmentOffset(first, segmentExponent);
        long endOffset = last == segmentCount - 1 ? ciphertextLength : SegmentOffset(last + 1, segmentExponent);
        return new SegmentRange(first, last, offset, endOffset - offset, (int)(start - first * s), endExclusive - start, segmentCount, segmentExponent);
    }

    /// <summary>Offset of segment <paramref name="index"/> from the start of the stream: <c>72 + i·(S + 16)</c>.</summary>
    public static long SegmentOffset(long index, int segmentExponent) =>
        checked(HeaderSize + index * (SegmentSize(segmentExponent) + (long)TagSize));

    internal static void CheckExponent(int segmentExponent)
    {
        if (segmentExponent < MinSegmentExponent || segmentExponent > MaxSegmentExponent)
            throw new ArgumentOutOfRangeException(nameof(segmentExponent), segmentExponent,
                $"The segment size exponent must be within [{MinSegmentExponent}, {MaxSegmentExponent}].");
    }
}

/// <summary>
/// The segments that hold a plaintext range (see <see cref="StreamFormat.PlanRange"/>).
/// </summary>
/// <param name="FirstSegment">Index of the first segment to fetch.</param>
/// <param name="LastSegment">Index of the last segment to fetch (FirstSegment − 1 for an empty range).</param>
/// <param name="CiphertextOffset">Offset of the first segment from the start of the stream (the header included in the count), i.e. where a ranged GET starts.</param>
/// <param name="CiphertextLength">Bytes of those segments (the header is not part of them): a ranged GET fetches [CiphertextOffset, CiphertextOffset + CiphertextLength).</param>
/// <param name="SkipBytes">Plaintext bytes to drop at the start of the first segment.</param>
/// <param name="PlaintextLength">Plaintext bytes of the range.</param>
/// <param name="TotalSegments">Number of segments of the whole stream; segment TotalSegments − 1 is final.</param>
/// <param name="SegmentExponent">Segment size exponent of the stream.</param>
public readonly record struct SegmentRange(
    long FirstSegment,
    long LastSegment,
    long CiphertextOffset,
    long CiphertextLength,
    int SkipBytes,
    long PlaintextLength,
    long TotalSegments,
    int SegmentExponent)
{
    /// <summary>Number of segments to fetch.</summary>
    public long SegmentCount => LastSegment - FirstSegment + 1;

    /// <summary>True when the range includes the final segment of the stream.</summary>
    public bool IncludesFinalSegment => SegmentCount > 0 && LastSegment == TotalSegments - 1;
}
