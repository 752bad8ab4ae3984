using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Coffre.Storage.Erasure;

/// <summary>
/// The codec's hot loop: a region of bytes multiplied by one field constant, added (XOR) into another region.
/// Multiplication by c is linear over the bits, so c·x = c·(x &amp; 0x0F) ⊕ c·(x &amp; 0xF0): two 16-entry tables per
/// constant, looked up 16, 32 or 64 bytes at a time with a byte shuffle (vpshufb), which is the split-nibble technique
/// of ISA-L and of Plank's GF-Complete. AVX-512BW, AVX2 and SSSE3 are used when present; anything else falls back to
/// the 64 KiB multiplication table, one byte at a time.
/// </summary>
internal static class GfRegion
{
    /// <summary>Low[c·16 + x] = c·x and High[c·16 + x] = c·(x &lt;&lt; 4), for every constant c.</summary>
    private static readonly byte[] Low = new byte[256 * 16];
    private static readonly byte[] High = new byte[256 * 16];

    static GfRegion()
    {
        for (var c = 0; c < 256; c++)
            for (var x = 0; x < 16; x++)
            {
                Low[c * 16 + x] = Gf256.Mul((byte)c, (byte)x);
                High[c * 16 + x] = Gf256.Mul((byte)c, (byte)(x << 4));
            }
    }

    /// <summary>dst ⊕= c · src (dst and src of the same length).</summary>
    public static void MulAdd(Span<byte> dst, ReadOnlySpan<byte> src, byte c)
    {
        if (dst.Length != src.Length) throw new ArgumentException("Regions differ in length.", nameof(dst));
        if (c == 0) return;
        Apply(dst, src, c, accumulate: true);
    }

    /// <summary>dst = c · src.</summary>
    public static void Mul(Span<byte> dst, ReadOnlySpan<byte> src, byte c)
    {
        if (dst.Length != src.Length) throw new ArgumentException("Regions differ in length.", nameof(dst));
        if (c == 0) dst.Clear();
        else if (c == 1) src.CopyTo(dst);
        else Apply(dst, src, c, accumulate: false);
    }

    private static void Apply(Span<byte> dst, ReadOnlySpan<byte> src, byte c, bool accumulate)
    {
        ref var d = ref MemoryMarshal.GetReference(dst);
        ref var s = ref MemoryMarshal.GetReference(src);
        var n = (nuint)dst.Length;
        nuint i = 0;
        var low = Vector128.LoadUnsafe(ref Low[c * 16]);
        var high = Vector128.LoadUnsafe(ref High[c * 16]);
        if (Avx512BW.IsSupported && n >= 64)
        {
            var lo = Vector512.Create(Vector256.Create(low, low), Vector256.Create(low, low));
            var hi = Vector512.Create(Vector256.Create(high, high), Vector256.Create(high, high));
            var mask = Vector512.Create((byte)0x0F);
            for (; i + 64 <= n; i += 64)
            {
                var v = Vector512.LoadUnsafe(ref s, i);
                var p = Avx512BW.Shuffle(lo, v & mask) ^ Avx512BW.Shuffle(hi, Vector512.ShiftRightLogical(v, 4) & mask);
                if (accumulate) p ^= Vector512.LoadUnsafe(ref d, i);
                p.StoreUnsafe(ref d, i);
            }
        }
        if (Avx2.IsSupported && n - i >= 32)
        {
            var lo = Vector256.Create(low, low);
            var hi = Vector256.Create(high, high);
            var mask = Vector256.Create((byte)0x0F);
            for (; i + 32 <= n; i += 32)
            {
                var v = Vector256.LoadUnsafe(ref s, i);
                var p = Avx2.Shuffle(lo, v & mask) ^ Avx2.Shuffle(hi, Vector256.ShiftRightLogical(v, 4) & mask);
                if (accumulate) p ^= Vector256.LoadUnsafe(ref d, i);
                p.StoreUnsafe(ref d, i);
            }
        }
        if (Ssse3.IsSupported && n - i >= 16)
        {
            var mask = Vector128.Create((byte)0x0F);
            for (; i + 16 <= n; i += 16)
            {
                var v = Vector128.LoadUnsafe(ref s, i);
                var p = Ssse3.Shuffle(low, v & mask) ^ Ssse3.Shuffle(high, Vector128.ShiftRightLogical(v, 4) & mask);
                if (accumulate) p ^= Vector128.LoadUnsafe(ref d, i);
                p.StoreUnsafe(ref d, i);
            }
        }
        ref var row = ref Gf256.MulTable[c * 256];
        for (; i < n; i++)
        {
            var p = Unsafe.Add(ref row, Unsafe.Add(ref s, i));
            Unsafe.Add(ref d, i) = accumulate ? (byte)(Unsafe.Add(ref d, i) ^ p) : p;
        }
    }
}
