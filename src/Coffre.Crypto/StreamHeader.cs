using System.Buffers;
using System.Security.Cryptography;

namespace Coffre.Crypto;

/// <summary>
/// The 72-byte stream header (docs/format.md §1): magic, version, segment size exponent,
/// reserved bytes, salt and key commitment. Holds no key material; keys derived from it are
/// written to caller-provided spans.
/// </summary>
public readonly struct StreamHeader
{
    private const int PrefixSize = 8;
    private const int SaltOffset = 8;
    private const int CommitmentOffset = 40;
    private const int OkmSize = StreamFormat.KeySize + StreamFormat.CommitmentSize;

    private static ReadOnlySpan<byte> InfoLabel => "coffre/v1/stream"u8;

    private readonly byte[]? _bytes;

    private StreamHeader(byte[] bytes) => _bytes = bytes;

    /// <summary>The 72 header bytes.</summary>
    public ReadOnlySpan<byte> Bytes => Raw;

    public int SegmentExponent => Raw[5];

    public int SegmentSize => 1 << SegmentExponent;

    public ReadOnlySpan<byte> Salt => Raw.AsSpan(SaltOffset, StreamFormat.SaltSize);

    public ReadOnlySpan<byte> Commitment => Raw.AsSpan(CommitmentOffset, StreamFormat.CommitmentSize);

    private byte[] Raw => _bytes ?? throw new InvalidOperationException("Uninitialised stream header.");

    /// <summary>
    /// Parses and validates the syntax of a header (magic, version, exponent range, reserved
    /// bytes). The commitment is checked by <see cref="DeriveSegmentKey"/>.
    /// </summary>
    public static StreamHeader Parse(ReadOnlySpan<byte> header)
    {
        if (header.Length != StreamFormat.HeaderSize)
            throw AuthenticationFailedException.AtHeader($"it is {header.Length} bytes, expected {StreamFormat.HeaderSize}");
        if (!header[..4].SequenceEqual(StreamFormat.Magic))
            throw AuthenticationFailedException.AtHeader("bad magic, this is not a Coffre stream");
        if (header[4] != StreamFormat.Version)
            throw AuthenticationFailedException.AtHeader($"unknown format version {header[4]}");
        if (header[5] < StreamFormat.MinSegmentExponent || header[5] > StreamFormat.MaxSegmentExponent)
            throw AuthenticationFailedException.AtHeader($"segment size exponent {header[5]} is outside [{StreamFormat.MinSegmentExponent}, {StreamFormat.MaxSegmentExponent}]");
        if (header[6] != 0 || header[7] != 0)
            throw AuthenticationFailedException.AtHeader("reserved bytes are not zero");
        return new StreamHeader(header.ToArray());
    }

    /// <summary>
    /// Creates a header with a fresh random salt for (<paramref name="dataKey"/>, <paramref name="associatedData"/>)
    /// and writes the segment key to <paramref name="segmentKey"/> (32 bytes).
    /// </summary>
    public static StreamHeader Create(int segmentExponent, ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> associatedData, Span<byte> segmentKey)
    {
        Span<byte> salt = stackalloc byte[StreamFormat.SaltSize];
        RandomNumberGenerator.Fill(salt);
        return Create(segmentExponent, dataKey, associatedData, salt, segmentKey);
    }

    /// <summary>Deterministic variant for test vectors: a salt must never be reused.</summary>
    internal static StreamHeader Create(int segmentExponent, ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> salt, Span<byte> segmentKey)
    {
        StreamFormat.CheckExponent(segmentExponent);
        CheckKey(dataKey);
        if (salt.Length != StreamFormat.SaltSize) throw new ArgumentException("A salt is 32 bytes.", nameof(salt));
        if (segmentKey.Length != StreamFormat.KeySize) throw new ArgumentException("A segment key is 32 bytes.", nameof(segmentKey));
        var bytes = new byte[StreamFormat.HeaderSize];
        StreamFormat.Magic.CopyTo(bytes);
        bytes[4] = StreamFormat.Version;
        bytes[5] = (byte)segmentExponent;
        salt.CopyTo(bytes.AsSpan(SaltOffset));
        Span<byte> okm = stackalloc byte[OkmSize];
        try
        {
            Derive(dataKey, bytes.AsSpan(0, PrefixSize), salt, associatedData, okm);
            okm[StreamFormat.KeySize..].CopyTo(bytes.AsSpan(CommitmentOffset));
            okm[..StreamFormat.KeySize].CopyTo(segmentKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(okm);
        }
        return new StreamHeader(bytes);
    }

    /// <summary>
    /// Derives the keys for (<paramref name="dataKey"/>, <paramref name="associatedData"/>),
    /// compares the commitment with the header's in constant time and, if it matches, writes the
    /// segment key to <paramref name="segmentKey"/>. Otherwise throws
    /// <see cref="AuthenticationFailedException"/> at the header and writes nothing.
    /// </summary>
    public void DeriveSegmentKey(ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> associatedData, Span<byte> segmentKey)
    {
        CheckKey(dataKey);
        if (segmentKey.Length != StreamFormat.KeySize) throw new ArgumentException("A segment key is 32 bytes.", nameof(segmentKey));
        Span<byte> okm = stackalloc byte[OkmSize];
        try
        {
            Derive(dataKey, Raw.AsSpan(0, PrefixSize), Salt, associatedData, okm);
            if (!CryptographicOperations.FixedTimeEquals(okm[StreamFormat.KeySize..], Commitment))
                throw AuthenticationFailedException.AtHeader("the key commitment does not match (wrong data key, wrong associated data, or a modified header)");
            okm[..StreamFormat.KeySize].CopyTo(segmentKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(okm);
        }
    }

    public void CopyTo(Span<byte> destination) => Raw.CopyTo(destination);

    public override string ToString() =>
        _bytes is null ? "StreamHeader(uninitialised)" : $"StreamHeader(v{StreamFormat.Version}, e={SegmentExponent})";

    private static void CheckKey(ReadOnlySpan<byte> dataKey)
    {
        if (dataKey.Length != StreamFormat.KeySize) throw new ArgumentException("A data key is 32 bytes.", nameof(dataKey));
    }

    /// <summary>okm = HKDF-SHA256(IKM = DEK, salt, info = "coffre/v1/stream" || prefix || AD, L = 64).</summary>
    private static void Derive(ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> associatedData, Span<byte> okm)
    {
        int infoLength = InfoLabel.Length + PrefixSize + associatedData.Length;
        byte[]? rented = null;
        Span<byte> info = infoLength <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(infoLength));
        info = info[..infoLength];
        try
        {
            InfoLabel.CopyTo(info);
            prefix.CopyTo(info[InfoLabel.Length..]);
            associatedData.CopyTo(info[(InfoLabel.Length + PrefixSize)..]);
            HKDF.DeriveKey(HashAlgorithmName.SHA256, dataKey, okm, salt, info);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
