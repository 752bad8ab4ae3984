using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;

namespace Coffre.Objects.Integrity;

/// <summary>
/// Computes, in one pass over the plaintext, the MD5 that becomes the ETag and the one additional
/// checksum a client asked for. Digests are what S3 clients compare against, so they cover the
/// plaintext, never the ciphertext.
/// </summary>
public sealed class PlaintextDigests : IDisposable
{
    private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
    private readonly IncrementalHash? _sha;
    private readonly Crc32? _crc32;
    private readonly Crc64? _crc64;

    public ChecksumAlgorithm? Algorithm { get; }
    public long Length { get; private set; }

    public PlaintextDigests(ChecksumAlgorithm? algorithm)
    {
        Algorithm = algorithm;
        switch (algorithm)
        {
            case ChecksumAlgorithm.Crc32: _crc32 = new Crc32(Crc32ParameterSet.Crc32); break;
            case ChecksumAlgorithm.Crc32C: _crc32 = new Crc32(Crc32ParameterSet.Crc32C); break;
            case ChecksumAlgorithm.Crc64Nvme: _crc64 = new Crc64(Crc64ParameterSet.Nvme); break;
            case ChecksumAlgorithm.Sha1: _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA1); break;
            case ChecksumAlgorithm.Sha256: _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256); break;
        }
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        _md5.AppendData(data);
        _sha?.AppendData(data);
        _crc32?.Append(data);
        _crc64?.Append(data);
        Length += data.Length;
    }

    public byte[] Md5() => _md5.GetCurrentHash();

    /// <summary>Base64 of the additional checksum (CRCs big-endian, as S3 encodes them), or null when none was asked for.</summary>
    public string? Checksum()
    {
        if (_sha is not null) return Convert.ToBase64String(_sha.GetCurrentHash());
        Span<byte> crc = stackalloc byte[8];
        if (_crc32 is not null)
        {
            BinaryPrimitives.WriteUInt32BigEndian(crc, _crc32.GetCurrentHashAsUInt32());
            return Convert.ToBase64String(crc[..4]);
        }
        if (_crc64 is not null)
        {
            BinaryPrimitives.WriteUInt64BigEndian(crc, _crc64.GetCurrentHashAsUInt64());
            return Convert.ToBase64String(crc);
        }
        return null;
    }

    /// <summary>One-shot checksum of a buffer, used for composite (multipart) checksums.</summary>
    public static byte[] Compute(ChecksumAlgorithm algorithm, ReadOnlySpan<byte> data)
    {
        using var d = new PlaintextDigests(algorithm);
        d.Append(data);
        return Convert.FromBase64String(d.Checksum()!);
    }

    public void Dispose()
    {
        _md5.Dispose();
        _sha?.Dispose();
    }
}
