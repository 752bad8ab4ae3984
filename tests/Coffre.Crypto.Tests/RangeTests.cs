namespace Coffre.Crypto.Tests;

public class RangeTests
{
    private const int S = 256;

    [Fact]
    public void BoundaryRangesMatchThePlaintext()
    {
        var plaintext = TestData.Pattern(3 * S + 5);
        var ciphertext = TestData.Encrypt(plaintext, 8, TestData.Ad);
        var points = new[] { 0, 1, S - 1, S, S + 1, 2 * S - 1, 2 * S, 3 * S, 3 * S + 1, 3 * S + 4, 3 * S + 5 };
        foreach (var a in points)
            foreach (var b in points.Where(b => b >= a))
                foreach (var (readSize, async) in new[] { (1, false), (7, true), (300, false), (4096, true) })
                    Assert.Equal(plaintext[a..b], TestData.DecryptRange(ciphertext, a, b, TestData.Ad, readSize, async));
    }

    [Fact]
    public void RangeOfAnEmptyObjectIsEmpty()
    {
        var ciphertext = TestData.Encrypt([], 8);
        Assert.Empty(TestData.DecryptRange(ciphertext, 0, 0));
    }

    [Fact]
    public void LargeRangeAtTheDefaultSegmentSize()
    {
        var plaintext = TestData.Random(1_000_000);
        var ciphertext = TestData.Encrypt(plaintext, StreamFormat.DefaultSegmentExponent, TestData.Ad);
        Assert.Equal(plaintext[123_456..987_654], TestData.DecryptRange(ciphertext, 123_456, 987_654, TestData.Ad, readSize: 200_000));
        Assert.Equal(plaintext[65_536..], TestData.DecryptRange(ciphertext, 65_536, plaintext.Length, TestData.Ad, readSize: 1 << 20, async: true));
    }

    [Fact]
    public void RangeArgumentsAreChecked()
    {
        long c = StreamFormat.CiphertextLength(1000, 8);
        Assert.Throws<ArgumentOutOfRangeException>(() => StreamFormat.PlanRange(c, 8, -1, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => StreamFormat.PlanRange(c, 8, 10, 9));
        Assert.Throws<ArgumentOutOfRangeException>(() => StreamFormat.PlanRange(c, 8, 0, 1001));
    }

    [Fact]
    public void PlanRangeExample()
    {
        // e = 8, L = 773 (4 segments, the last of 5 bytes); bytes [300, 780) → segments 1..3.
        long c = StreamFormat.CiphertextLength(773, 8);
        Assert.Equal(72 + 773 + 64, c);
        var plan = StreamFormat.PlanRange(c, 8, 300, 773);
        Assert.Equal(new SegmentRange(1, 3, 72 + 272, 272 + 272 + 21, 44, 473, 4, 8), plan);
        Assert.True(plan.IncludesFinalSegment);
    }
}
