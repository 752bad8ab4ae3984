using System.Security.Cryptography;

namespace Coffre.Kms.Root;

/// <summary>
/// Shamir secret sharing over GF(2^8) (the AES field, polynomial x^8 + x^4 + x^3 + x + 1), byte by byte: each byte of
/// the secret is the constant term of its own random polynomial of degree threshold − 1, and share x (1..255) holds
/// the polynomials' values at x. Any <c>threshold</c> shares give the secret back by Lagrange interpolation at 0; fewer
/// say nothing about it. docs/format.md §6.5.
/// </summary>
/// <remarks>
/// The field arithmetic has no table lookup and no branch on secret values: a table indexed by a secret byte leaks
/// it through the cache to a co-located attacker, and the usual log/exp tables need a branch for zero. Multiplication
/// is a carry-less shift-and-add whose conditional steps are masks, inversion is a^254 by a fixed chain of squarings.
/// A few hundred operations per byte of a 32-byte secret: nothing next to the AES-GCM that follows.
/// </remarks>
public static class ShamirSecret
{
    public const int MinimumThreshold = 2;
    public const int MaximumShares = 255;

    /// <summary>Splits <paramref name="secret"/> into <paramref name="shares"/> values (share i at index i + 1).</summary>
    public static byte[][] Split(ReadOnlySpan<byte> secret, int shares, int threshold)
    {
        CheckCounts(shares, threshold);
        var coefficients = new byte[(threshold - 1) * secret.Length];
        RandomNumberGenerator.Fill(coefficients);
        try
        {
            return Split(secret, shares, threshold, coefficients);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(coefficients);
        }
    }

    /// <summary>Split with given coefficients ((threshold − 1) bytes per secret byte, lowest degree first): for test vectors.</summary>
    internal static byte[][] Split(ReadOnlySpan<byte> secret, int shares, int threshold, ReadOnlySpan<byte> coefficients)
    {
        CheckCounts(shares, threshold);
        var degree = threshold - 1;
        if (coefficients.Length != degree * secret.Length)
            throw new ArgumentException("Wrong number of coefficients.", nameof(coefficients));
        var result = new byte[shares][];
        for (var s = 0; s < shares; s++)
        {
            var x = (byte)(s + 1);
            var y = new byte[secret.Length];
            for (var i = 0; i < secret.Length; i++)
            {
                // Horner: ((c_d·x + c_{d−1})·x + ...)·x + secret.
                byte value = 0;
                for (var d = degree; d >= 1; d--) value = (byte)(Multiply(value, x) ^ coefficients[i * degree + d - 1]);
                y[i] = (byte)(Multiply(value, x) ^ secret[i]);
            }
            result[s] = y;
        }
        return result;
    }

    /// <summary>Recombines shares (distinct indexes 1..255, equal lengths) into <paramref name="secret"/>. With fewer than
    /// the threshold the result is just another value, not an error: the caller checks it (the seal's AES-GCM tag).</summary>
    public static void Combine(ReadOnlySpan<byte> indexes, IReadOnlyList<byte[]> values, Span<byte> secret)
    {
        if (indexes.Length != values.Count || indexes.Length == 0)
            throw new ArgumentException("One index per share value, at least one share.");
        for (var i = 0; i < indexes.Length; i++)
        {
            if (indexes[i] == 0) throw new ArgumentException("Share index 0 is the secret itself.");
            if (values[i].Length != secret.Length) throw new ArgumentException("Every share is as long as the secret.");
            for (var j = 0; j < i; j++)
                if (indexes[i] == indexes[j]) throw new ArgumentException("Share indexes must be distinct.");
        }
        secret.Clear();
        for (var i = 0; i < indexes.Length; i++)
        {
            // Lagrange basis at 0: prod_{j≠i} x_j / (x_j − x_i); subtraction is XOR in GF(2^8).
            byte numerator = 1, denominator = 1;
            for (var j = 0; j < indexes.Length; j++)
            {
                if (j == i) continue;
                numerator = Multiply(numerator, indexes[j]);
                denominator = Multiply(denominator, (byte)(indexes[j] ^ indexes[i]));
            }
            var basis = Multiply(numerator, Inverse(denominator));
            for (var b = 0; b < secret.Length; b++) secret[b] ^= Multiply(values[i][b], basis);
        }
    }

    /// <summary>Product in GF(2^8): eight shift-and-add steps, each conditional step a mask (no secret-dependent branch).</summary>
    internal static byte Multiply(byte a, byte b)
    {
        int product = 0, shifted = a;
        for (var bit = 0; bit < 8; bit++)
        {
            product ^= shifted & -((b >> bit) & 1);
            // Multiply by x; reduce by the field polynomial (0x11B) when the top bit carried out.
            shifted = ((shifted << 1) ^ (0x11B & -((shifted >> 7) & 1))) & 0xFF;
        }
        return (byte)product;
    }

    /// <summary>a^254 = a^-1 for a ≠ 0 (and 0 for 0), by the fixed chain a^2·a^4·...·a^128.</summary>
    internal static byte Inverse(byte a)
    {
        var power = Multiply(a, a); // a^2
        var result = power;
        for (var i = 2; i < 8; i++)
        {
            power = Multiply(power, power); // a^(2^i)
            result = Multiply(result, power);
        }
        return result;
    }

    internal static void CheckCounts(int shares, int threshold)
    {
        if (threshold < MinimumThreshold || threshold > shares || shares > MaximumShares)
            throw new KmsException(KmsError.InvalidArgument,
                $"Shamir sharing needs {MinimumThreshold} ≤ threshold ≤ shares ≤ {MaximumShares} ({threshold} of {shares} asked).");
    }
}
