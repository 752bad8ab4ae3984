using System.Buffers.Binary;
using System.IO.Hashing;

namespace Coffre.Objects.Integrity;

/// <summary>CRC-64/NVME (reflected polynomial 0x9A6C9329AC4BC9B5), as S3 uses for x-amz-checksum-crc64nvme. Slicing-by-8.</summary>
public sealed class Crc64Nvme : NonCryptographicHashAlgorithm
{
    private const ulong Polynomial = 0x9A6C9329AC4BC9B5;
    private static readonly ulong[][] Tables = BuildTables();
    private ulong _crc = ulong.MaxValue;

    public Crc64Nvme() : base(8) { }

    public override void Append(ReadOnlySpan<byte> source)
    {
        var crc = _crc;
        var t = Tables;
        while (source.Length >= 8)
        {
            crc ^= BinaryPrimitives.ReadUInt64LittleEndian(source);
            crc = t[7][crc & 0xFF] ^ t[6][(crc >> 8) & 0xFF] ^ t[5][(crc >> 16) & 0xFF] ^ t[4][(crc >> 24) & 0xFF]
                ^ t[3][(crc >> 32) & 0xFF] ^ t[2][(crc >> 40) & 0xFF] ^ t[1][(crc >> 48) & 0xFF] ^ t[0][crc >> 56];
            source = source[8..];
        }
        foreach (var b in source)
            crc = t[0][(crc ^ b) & 0xFF] ^ (crc >> 8);
        _crc = crc;
    }

    public override void Reset() => _crc = ulong.MaxValue;

    protected override void GetCurrentHashCore(Span<byte> destination) =>
        BinaryPrimitives.WriteUInt64BigEndian(destination, ~_crc);

    private static ulong[][] BuildTables()
    {
        var tables = new ulong[8][];
        tables[0] = new ulong[256];
        for (ulong i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ Polynomial : c >> 1;
            tables[0][i] = c;
        }
        for (var s = 1; s < 8; s++)
        {
            tables[s] = new ulong[256];
            for (var i = 0; i < 256; i++)
                tables[s][i] = (tables[s - 1][i] >> 8) ^ tables[0][tables[s - 1][i] & 0xFF];
        }
        return tables;
    }
}
