using Coffre.Crypto;

namespace Coffre.Fuzz.Targets;

/// <summary>
/// The object format's stream header and segment decoder, as a backend's bytes reach it. Input: two bytes A and B
/// that choose a plaintext range, then a ciphertext stream. The stream is decrypted three ways under a fixed data
/// key and associated data: sequentially (<see cref="DecryptingStream"/>), at once (<see cref="ObjectCipher.Decrypt(ReadOnlySpan{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>)
/// and for the range (<see cref="DecryptingStream.ForRange"/>); the three must agree. Every rejection is an
/// <see cref="AuthenticationFailedException"/>.
/// </summary>
public sealed class StreamTarget : FuzzTarget
{
    private static readonly byte[] DataKey = Enumerable.Range(1, StreamFormat.KeySize).Select(i => (byte)i).ToArray();
    private static readonly byte[] AssociatedData = "coffre-fuzz/bucket/object"u8.ToArray();

    public override string Name => "stream";

    public override void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < 2) return;
        var ciphertext = input[2..].ToArray();

        byte[]? sequential = Sequential(ciphertext);
        byte[]? whole;
        try
        {
            whole = ObjectCipher.Decrypt(ciphertext, DataKey, AssociatedData);
        }
        catch (AuthenticationFailedException)
        {
            whole = null;
        }
        Check(sequential is null == whole is null && (whole is null || whole.AsSpan().SequenceEqual(sequential)),
            "the sequential and the one-shot decryption agree");

        long plaintextLength;
        try
        {
            var header = StreamHeader.Parse(ciphertext.AsSpan(0, Math.Min(ciphertext.Length, StreamFormat.HeaderSize)));
            plaintextLength = StreamFormat.PlaintextLength(ciphertext.Length, header.SegmentExponent);
        }
        catch (AuthenticationFailedException)
        {
            Check(sequential is null, "a stream whose header or length is invalid does not decrypt");
            return;
        }
        long start = plaintextLength * input[0] / 255;
        long end = start + (plaintextLength - start) * input[1] / 255;
        var range = Range(ciphertext, start, end);
        Check(range is null || range.Length == end - start, "a range read returns the range's length");
        if (sequential is not null)
            Check(range is not null && range.AsSpan().SequenceEqual(sequential.AsSpan((int)start, (int)(end - start))),
                "a range of a valid stream decrypts to that slice of the whole plaintext");
    }

    private static byte[]? Sequential(byte[] ciphertext)
    {
        var output = new MemoryStream();
        using var stream = new DecryptingStream(new MemoryStream(ciphertext), DataKey, AssociatedData);
        var buffer = new byte[1 + ciphertext.Length % 1000];
        try
        {
            int n;
            while ((n = stream.Read(buffer)) > 0) output.Write(buffer, 0, n);
        }
        catch (AuthenticationFailedException)
        {
            return null;
        }
        return output.ToArray();
    }

    private static byte[]? Range(byte[] ciphertext, long start, long end)
    {
        try
        {
            var plan = StreamFormat.PlanRange(ciphertext.Length, ciphertext[5], start, end);
            var segments = new MemoryStream(ciphertext, (int)plan.CiphertextOffset, (int)plan.CiphertextLength);
            using var stream = DecryptingStream.ForRange(segments, ciphertext.AsSpan(0, StreamFormat.HeaderSize), ciphertext.Length,
                DataKey, AssociatedData, start, end);
            var output = new MemoryStream();
            stream.CopyTo(output, 1 + (int)(start % 777));
            return output.ToArray();
        }
        catch (AuthenticationFailedException)
        {
            return null;
        }
    }

    public override IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        byte[] Seed(int plaintextLength, int exponent, byte a, byte b)
        {
            var plaintext = Enumerable.Range(0, plaintextLength).Select(i => (byte)(i * 7)).ToArray();
            return [a, b, .. ObjectCipher.Encrypt(plaintext, DataKey, AssociatedData, exponent)];
        }
        yield return ("empty", Seed(0, 8, 0, 0));
        yield return ("one-segment", Seed(100, 8, 10, 200));
        yield return ("three-segments", Seed(600, 8, 100, 100));
        yield return ("exact-segments", Seed(512, 8, 128, 255));
    }
}
