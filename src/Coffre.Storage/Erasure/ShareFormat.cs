using System.Buffers.Binary;
using System.IO.Hashing;

namespace Coffre.Storage.Erasure;

/// <summary>
/// The layout of one share blob (docs/format.md, "Erasure-coded shares"). A blob of T bytes is cut into stripes of k
/// blocks of <see cref="BlockLength"/> bytes (the last stripe's blocks are ⌈rest / k⌉ bytes, zero-padded); share i
/// holds block i of every stripe, in stripe order:
/// <code>
/// header   "CFEC" | version 1 | k | n | i | block length (u32 BE) | T (u64 BE, all ones when unknown) | CRC-32 of the 20 bytes before (u32 BE)
/// stripe s block bytes | CRC-32 of them (u32 BE)         (for s = 0 .. stripes − 1)
/// trailer  T (u64 BE) | CRC-32 of those 8 bytes (u32 BE)
/// </code>
/// Every offset follows from the header, so a range read fetches exactly the stripes it needs. The trailer exists for
/// bodies whose length is not known when the write starts (HTTP chunked). CRC-32 (the zlib/IEEE one) finds damage at
/// rest; it is not a defence against a provider that forges a share — nothing unkeyed is, and this layer holds no keys —
/// that defence is the authenticated encryption of the ciphertext the shares rebuild, which then fails to decrypt.
/// </summary>
public sealed record ShareFormat(int K, int N, int Index, int BlockLength, long TotalLength)
{
    public const int Version = 1;
    public const int HeaderLength = 24;
    public const int TrailerLength = 12;
    public const int ChecksumLength = 4;
    public const long UnknownLength = -1;
    private static ReadOnlySpan<byte> Magic => "CFEC"u8;

    /// <summary>The data bytes of one full stripe.</summary>
    public long StripeData => (long)K * BlockLength;

    /// <summary>How many stripes a blob of <see cref="TotalLength"/> bytes has (none when it is empty).</summary>
    public long Stripes => (TotalLength + StripeData - 1) / StripeData;

    /// <summary>The block length of stripe <paramref name="s"/>: full, or ⌈rest / k⌉ for the last.</summary>
    public int BlockLengthOf(long s)
    {
        var rest = TotalLength - s * StripeData;
        return rest >= StripeData ? BlockLength : (int)((rest + K - 1) / K);
    }

    /// <summary>Where stripe <paramref name="s"/>'s block starts in the share blob.</summary>
    public long OffsetOf(long s) => HeaderLength + s * (BlockLength + ChecksumLength);

    /// <summary>The length of the whole share blob.</summary>
    public long ShareLength => Stripes == 0 ? HeaderLength + TrailerLength : OffsetOf(Stripes - 1) + BlockLengthOf(Stripes - 1) + ChecksumLength + TrailerLength;

    public void WriteHeader(Span<byte> destination, bool lengthKnown)
    {
        Magic.CopyTo(destination);
        destination[4] = Version;
        destination[5] = (byte)K;
        destination[6] = (byte)N;
        destination[7] = (byte)Index;
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], (uint)BlockLength);
        BinaryPrimitives.WriteInt64BigEndian(destination[12..], lengthKnown ? TotalLength : UnknownLength);
        BinaryPrimitives.WriteUInt32BigEndian(destination[20..], Crc32.HashToUInt32(destination[..20]));
    }

    public static void WriteTrailer(Span<byte> destination, long totalLength)
    {
        BinaryPrimitives.WriteInt64BigEndian(destination, totalLength);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], Crc32.HashToUInt32(destination[..8]));
    }

    /// <summary>Appends the checksum of a block (the 4 bytes after it).</summary>
    public static void Seal(Span<byte> blockAndChecksum) =>
        BinaryPrimitives.WriteUInt32BigEndian(blockAndChecksum[^ChecksumLength..], Crc32.HashToUInt32(blockAndChecksum[..^ChecksumLength]));

    /// <summary>Whether a block read back matches the checksum stored after it.</summary>
    public static bool IsIntact(ReadOnlySpan<byte> blockAndChecksum) =>
        BinaryPrimitives.ReadUInt32BigEndian(blockAndChecksum[^ChecksumLength..]) == Crc32.HashToUInt32(blockAndChecksum[..^ChecksumLength]);

    /// <summary>
    /// Parses a header; <see cref="TotalLength"/> is <see cref="UnknownLength"/> when it was not known at write time
    /// (then <see cref="ParseTrailer"/> gives it). Null when the bytes are not an intact version-1 share header.
    /// </summary>
    public static ShareFormat? ParseHeader(ReadOnlySpan<byte> header)
    {
        if (header.Length < HeaderLength || !header[..4].SequenceEqual(Magic) || header[4] != Version) return null;
        if (BinaryPrimitives.ReadUInt32BigEndian(header[20..]) != Crc32.HashToUInt32(header[..20])) return null;
        int k = header[5], n = header[6], index = header[7];
        var block = BinaryPrimitives.ReadUInt32BigEndian(header[8..]);
        var total = BinaryPrimitives.ReadInt64BigEndian(header[12..]);
        if (k < 1 || n <= k || index >= n || block < 1 || block > int.MaxValue - ChecksumLength || total < UnknownLength) return null;
        return new ShareFormat(k, n, index, (int)block, total);
    }

    /// <summary>The blob length a trailer states, or null when it is damaged.</summary>
    public static long? ParseTrailer(ReadOnlySpan<byte> trailer)
    {
        if (trailer.Length != TrailerLength || BinaryPrimitives.ReadUInt32BigEndian(trailer[8..]) != Crc32.HashToUInt32(trailer[..8])) return null;
        var total = BinaryPrimitives.ReadInt64BigEndian(trailer);
        return total >= 0 ? total : null;
    }
}
