using System.Security.Cryptography;
using Coffre.Kms.Root;
using FsCheck;
using FsCheck.Xunit;

namespace Coffre.Kms.Tests.Root;

public class ShamirTests
{
    /// <summary>(n, k) with 2 ≤ k ≤ n ≤ 255 from two arbitrary numbers.</summary>
    private static (int N, int K) Counts(byte a, byte b)
    {
        var n = 2 + a % 254;
        var k = 2 + b % (n - 1);
        return (n, k);
    }

    private static byte[] Combine(byte[][] values, IEnumerable<int> positions)
    {
        var chosen = positions.ToArray();
        var secret = new byte[values[0].Length];
        ShamirSecret.Combine([.. chosen.Select(p => (byte)(p + 1))], [.. chosen.Select(p => values[p])], secret);
        return secret;
    }

    [Property(MaxTest = 200)]
    public void Any_threshold_of_the_shares_recombine_the_secret(byte a, byte b, int seed)
    {
        var (n, k) = Counts(a, b);
        var secret = RandomNumberGenerator.GetBytes(32);
        var values = ShamirSecret.Split(secret, n, k);
        var random = new Random(seed);
        var chosen = Enumerable.Range(0, n).OrderBy(_ => random.Next()).Take(k).ToArray();
        Assert.Equal(secret, Combine(values, chosen));
        // More than the threshold recombine too.
        Assert.Equal(secret, Combine(values, Enumerable.Range(0, n)));
    }

    [Property(MaxTest = 200)]
    public void Fewer_than_the_threshold_never_give_the_secret(byte a, byte b, int seed)
    {
        var (n, k) = Counts(a, b);
        var secret = RandomNumberGenerator.GetBytes(32);
        var values = ShamirSecret.Split(secret, n, k);
        var random = new Random(seed);
        var chosen = Enumerable.Range(0, n).OrderBy(_ => random.Next()).Take(k - 1).ToArray();
        Assert.NotEqual(secret, Combine(values, chosen));
    }

    [Fact]
    public void K_minus_1_shares_leave_every_value_of_a_secret_byte_possible()
    {
        // Information-theoretic secrecy, checked exhaustively for one byte at k = 3: whatever two shares hold (here 0x42
        // at x = 1 and 0x99 at x = 2), each of the 256 secrets is consistent with them through exactly one polynomial.
        var counts = new int[256];
        for (var s = 0; s < 256; s++)
        for (var c1 = 0; c1 < 256; c1++)
        for (var c2 = 0; c2 < 256; c2++)
        {
            var v = ShamirSecret.Split([(byte)s], 3, 3, [(byte)c1, (byte)c2]);
            if (v[0][0] == 0x42 && v[1][0] == 0x99) counts[s]++;
        }
        Assert.All(counts, c => Assert.Equal(1, c));
    }

    [Fact]
    public void Field_multiplication_matches_the_AES_field_and_every_nonzero_element_has_its_inverse()
    {
        Assert.Equal(0xC1, ShamirSecret.Multiply(0x57, 0x83)); // FIPS-197 §4.2 example
        Assert.Equal(0xFE, ShamirSecret.Multiply(0x57, 0x13));
        for (var a = 1; a < 256; a++) Assert.Equal(1, ShamirSecret.Multiply((byte)a, ShamirSecret.Inverse((byte)a)));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 1)]
    [InlineData(3, 4)]
    [InlineData(256, 2)]
    public void Counts_outside_2_le_k_le_n_le_255_are_refused(int n, int k)
    {
        var e = Assert.Throws<KmsException>(() => ShamirSecret.Split(new byte[32], n, k));
        Assert.Equal(KmsError.InvalidArgument, e.Error);
    }

    [Fact]
    public void A_share_round_trips_its_text_and_a_changed_character_is_caught_by_the_checksum()
    {
        using var share = new UnsealShare(3, 7, RandomNumberGenerator.GetBytes(32));
        var text = share.Encode();
        Assert.StartsWith(UnsealShare.Prefix, text);
        using (var back = UnsealShare.Decode("  " + text + "\n"))
        {
            Assert.Equal((3, (byte)7), (back.Threshold, back.Index));
            Assert.Equal(share.Value, back.Value);
        }
        for (var i = UnsealShare.Prefix.Length; i < text.Length; i++)
        {
            var c = text[i] == 'A' ? 'B' : 'A';
            var changed = text[..i] + c + text[(i + 1)..];
            var e = Assert.Throws<KmsException>(() => UnsealShare.Decode(changed).Dispose());
            Assert.Equal(KmsError.InvalidShare, e.Error);
        }
    }
}
