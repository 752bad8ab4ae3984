using FsCheck;
using FsCheck.Xunit;

namespace Coffre.Crypto.Tests;

public class PropertyTests
{
    [Property(MaxTest = 200)]
    public void RandomSizesRoundTrip(NonNegativeInt size, byte exponentChoice, bool withAd, PositiveInt readSize, bool async)
    {
        int length = size.Get % 3000;
        int e = 8 + exponentChoice % 3;
        var plaintext = TestData.Random(length);
        var ad = withAd ? TestData.Ad : [];
        int read = 1 + readSize.Get % 1500;
        var ciphertext = TestData.Encrypt(plaintext, e, ad, readSize: read, async: async);
        Assert.Equal(plaintext, TestData.Decrypt(ciphertext, ad, readSize: read, async: !async));
    }

    [Property(MaxTest = 300)]
    public void RandomRangesDecryptToThePlaintextSlice(NonNegativeInt size, NonNegativeInt a, NonNegativeInt b, PositiveInt readSize, bool async)
    {
        int length = size.Get % 2000;
        int start = length == 0 ? 0 : a.Get % (length + 1);
        int end = start + (length - start == 0 ? 0 : b.Get % (length - start + 1));
        var plaintext = TestData.Random(length);
        var ciphertext = TestData.Encrypt(plaintext, 8, TestData.Ad);
        var got = TestData.DecryptRange(ciphertext, start, end, TestData.Ad, readSize: 1 + readSize.Get % 700, async: async);
        Assert.Equal(plaintext[start..end], got);
    }

    [Property(MaxTest = 1000)]
    public void LengthFunctionsAreInverse(NonNegativeInt low, NonNegativeInt high, byte exponentChoice)
    {
        int e = StreamFormat.MinSegmentExponent + exponentChoice % (StreamFormat.MaxSegmentExponent - StreamFormat.MinSegmentExponent + 1);
        long plaintextLength = ((long)(high.Get % 4096) << 28) + low.Get;
        long c = StreamFormat.CiphertextLength(plaintextLength, e);
        Assert.Equal(plaintextLength, StreamFormat.PlaintextLength(c, e));
    }

    [Property(MaxTest = 2000)]
    public void EveryAcceptedCiphertextLengthComesFromAPlaintextLength(NonNegativeInt c, byte exponentChoice)
    {
        int e = 8 + exponentChoice % 4;
        long length = c.Get % 20000;
        long plaintextLength;
        try
        {
            plaintextLength = StreamFormat.PlaintextLength(length, e);
        }
        catch (AuthenticationFailedException ex)
        {
            Assert.Equal(CiphertextPart.Length, ex.Part);
            return;
        }
        Assert.Equal(length, StreamFormat.CiphertextLength(plaintextLength, e));
    }

    [Property(MaxTest = 1000)]
    public void PlannedSegmentsCoverTheRange(NonNegativeInt size, NonNegativeInt a, NonNegativeInt b, byte exponentChoice)
    {
        int e = 8 + exponentChoice % 4;
        long s = 1L << e;
        long length = size.Get % 100_000;
        long start = length == 0 ? 0 : a.Get % (length + 1);
        long end = start + (length - start == 0 ? 0 : b.Get % (length - start + 1));
        long c = StreamFormat.CiphertextLength(length, e);
        var plan = StreamFormat.PlanRange(c, e, start, end);
        Assert.Equal(end - start, plan.PlaintextLength);
        if (start == end)
        {
            Assert.Equal(0, plan.SegmentCount);
            Assert.Equal(0, plan.CiphertextLength);
            return;
        }
        Assert.Equal(start / s, plan.FirstSegment);
        Assert.Equal((end - 1) / s, plan.LastSegment);
        Assert.Equal(StreamFormat.SegmentOffset(plan.FirstSegment, e), plan.CiphertextOffset);
        long segmentPlain = Math.Min(length, (plan.LastSegment + 1) * s) - plan.FirstSegment * s;
        Assert.Equal(segmentPlain + 16 * plan.SegmentCount, plan.CiphertextLength);
        Assert.Equal(start - plan.FirstSegment * s, plan.SkipBytes);
        Assert.True(plan.CiphertextOffset + plan.CiphertextLength <= c);
        Assert.Equal(plan.LastSegment == StreamFormat.SegmentCount(length, e) - 1, plan.IncludesFinalSegment);
    }
}
