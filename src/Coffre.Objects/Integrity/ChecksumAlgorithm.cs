namespace Coffre.Objects.Integrity;

/// <summary>The additional checksums S3 clients send (x-amz-checksum-*). Values are base64 of the big-endian digest.</summary>
public enum ChecksumAlgorithm
{
    Crc32,
    Crc32C,
    Crc64Nvme,
    Sha1,
    Sha256,
}

public static class ChecksumAlgorithms
{
    /// <summary>The S3 name: CRC32, CRC32C, CRC64NVME, SHA1, SHA256.</summary>
    public static string S3Name(this ChecksumAlgorithm algorithm) => algorithm switch
    {
        ChecksumAlgorithm.Crc32 => "CRC32",
        ChecksumAlgorithm.Crc32C => "CRC32C",
        ChecksumAlgorithm.Crc64Nvme => "CRC64NVME",
        ChecksumAlgorithm.Sha1 => "SHA1",
        ChecksumAlgorithm.Sha256 => "SHA256",
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    /// <summary>The header suffix: x-amz-checksum-crc32 etc.</summary>
    public static string HeaderName(this ChecksumAlgorithm algorithm) => "x-amz-checksum-" + algorithm.S3Name().ToLowerInvariant();

    public static bool TryParse(string? name, out ChecksumAlgorithm algorithm)
    {
        switch (name?.Trim().ToUpperInvariant())
        {
            case "CRC32": algorithm = ChecksumAlgorithm.Crc32; return true;
            case "CRC32C": algorithm = ChecksumAlgorithm.Crc32C; return true;
            case "CRC64NVME": algorithm = ChecksumAlgorithm.Crc64Nvme; return true;
            case "SHA1": algorithm = ChecksumAlgorithm.Sha1; return true;
            case "SHA256": algorithm = ChecksumAlgorithm.Sha256; return true;
            default: algorithm = default; return false;
        }
    }

    public static IEnumerable<ChecksumAlgorithm> All => Enum.GetValues<ChecksumAlgorithm>();

    public static int DigestSize(this ChecksumAlgorithm algorithm) => algorithm switch
    {
        ChecksumAlgorithm.Crc32 or ChecksumAlgorithm.Crc32C => 4,
        ChecksumAlgorithm.Crc64Nvme => 8,
        ChecksumAlgorithm.Sha1 => 20,
        ChecksumAlgorithm.Sha256 => 32,
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };
}
