namespace Coffre.Storage.Erasure;

/// <summary>
/// Arithmetic in GF(2^8) as zfec (and Luigi Rizzo's fec before it) defines it: the field polynomial
/// x^8 + x^4 + x^3 + x^2 + 1 (0x11D), the generator α = x (2). Shares are only zfec-compatible if both
/// sides agree on this field, so the tables are built the same way zfec builds them, not taken from elsewhere.
/// The values coded are ciphertext, so table lookups indexed by them leak nothing worth hiding.
/// </summary>
internal static class Gf256
{
    /// <summary>The field polynomial without its x^8 term: x^4 + x^3 + x^2 + 1.</summary>
    public const int Polynomial = 0x1D;

    /// <summary>exp[i] = α^i, doubled in length so that exp[log a + log b] needs no reduction.</summary>
    private static readonly byte[] Exp = new byte[510];
    private static readonly int[] Log = new int[256];
    private static readonly byte[] Inverses = new byte[256];

    /// <summary>The whole multiplication table, row c = c·x for every x (64 KiB): the scalar loop and the nibble tables read it.</summary>
    internal static readonly byte[] MulTable = new byte[256 * 256];

    static Gf256()
    {
        var x = 1;
        for (var i = 0; i < 255; i++)
        {
            Exp[i] = (byte)x;
            Log[x] = i;
            x <<= 1;
            if (x >= 0x100) x = (x ^ Polynomial) & 0xFF;
        }
        for (var i = 0; i < 255; i++) Exp[i + 255] = Exp[i];
        for (var a = 1; a < 256; a++)
        {
            Inverses[a] = Exp[255 - Log[a]];
            for (var b = 1; b < 256; b++) MulTable[a * 256 + b] = Exp[Log[a] + Log[b]];
        }
    }

    public static byte Mul(byte a, byte b) => MulTable[a * 256 + b];

    /// <summary>α^e for e ≥ 0 (zfec's gf_exp[modnn(e)]).</summary>
    public static byte Power(int e) => Exp[e % 255];

    /// <summary>The multiplicative inverse of a non-zero element.</summary>
    public static byte Inverse(byte a) => a == 0 ? throw new DivideByZeroException("0 has no inverse in GF(2^8).") : Inverses[a];
}
