using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Coffre.Cli.Tests;

public sealed class FileTests(DataDirFixture fx) : IClassFixture<DataDirFixture>
{
    private const int Segment = 1 << 16;
    private const int HeaderLength = 72;
    private const int TagLength = 16;

    /// <summary>The envelope length of a file written by `coffre encrypt` (docs/format.md §4).</summary>
    private static int EnvelopeLength(byte[] file)
    {
        var m = BinaryPrimitives.ReadUInt16BigEndian(file.AsSpan(5));
        return 7 + m + 4 + 1 + file[7 + m + 4];
    }

    private string Key() => fx.SharedKey;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Segment - 1)]
    [InlineData(Segment)]
    [InlineData(Segment + 1)]
    [InlineData(5 << 20)]
    public void Round_trip(int length)
    {
        var dir = fx.NewDir();
        var plain = Path.Combine(dir, "plain.bin");
        var data = RandomNumberGenerator.GetBytes(length);
        File.WriteAllBytes(plain, data);
        var enc = fx.Run("encrypt", "--key", Key(), plain, Path.Combine(dir, "c.cfr"), "--json").Json();
        Assert.Equal(1, enc.GetProperty("keyVersion").GetInt32());

        var cipher = File.ReadAllBytes(Path.Combine(dir, "c.cfr"));
        Assert.Equal("CFRF"u8.ToArray(), cipher[..4]);
        var env = EnvelopeLength(cipher);
        Assert.Equal("CFRE"u8.ToArray(), cipher[env..(env + 4)]);
        var segments = Math.Max(1, (length + Segment - 1) / Segment);
        Assert.Equal(env + HeaderLength + length + TagLength * segments, cipher.Length);
        Assert.Equal(cipher.Length, enc.GetProperty("bytes").GetInt64());

        var dec = fx.Run("decrypt", Path.Combine(dir, "c.cfr"), Path.Combine(dir, "back.bin"), "--json").Json();
        Assert.Equal(length, dec.GetProperty("bytes").GetInt64());
        Assert.True(data.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(dir, "back.bin"))));
        Assert.Equal(["back.bin", "c.cfr", "plain.bin"], Directory.GetFiles(dir).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void A_file_encrypted_under_v1_still_decrypts_after_rotate_and_new_files_use_v2()
    {
        var key = fx.NewKey("rot");
        var dir = fx.NewDir();
        File.WriteAllText(Path.Combine(dir, "p"), "before rotation");
        Assert.Equal(1, fx.Run("encrypt", "--key", key, Path.Combine(dir, "p"), Path.Combine(dir, "v1.cfr"), "--json").Json().GetProperty("keyVersion").GetInt32());
        fx.Run("key", "rotate", key).Ok();
        Assert.Equal(2, fx.Run("encrypt", "--key", key, Path.Combine(dir, "p"), Path.Combine(dir, "v2.cfr"), "--json").Json().GetProperty("keyVersion").GetInt32());
        fx.Run("decrypt", Path.Combine(dir, "v1.cfr"), Path.Combine(dir, "v1.txt")).Ok();
        fx.Run("decrypt", Path.Combine(dir, "v2.cfr"), Path.Combine(dir, "v2.txt")).Ok();
        Assert.Equal("before rotation", File.ReadAllText(Path.Combine(dir, "v1.txt")));
        Assert.Equal("before rotation", File.ReadAllText(Path.Combine(dir, "v2.txt")));
    }

    [Fact]
    public void Existing_output_exits_5_unless_force()
    {
        var dir = fx.NewDir();
        var (plain, cipher, back) = (Path.Combine(dir, "p"), Path.Combine(dir, "c.cfr"), Path.Combine(dir, "b"));
        File.WriteAllText(plain, "new content");
        File.WriteAllText(cipher, "precious");
        var r = fx.Run("encrypt", "--key", Key(), plain, cipher).Fails(5);
        Assert.Contains("--force", r.Stderr);
        Assert.Equal("precious", File.ReadAllText(cipher));
        fx.Run("encrypt", "--key", Key(), plain, cipher, "--force").Ok();
        File.WriteAllText(back, "also precious");
        fx.Run("decrypt", cipher, back).Fails(5);
        Assert.Equal("also precious", File.ReadAllText(back));
        fx.Run("decrypt", cipher, back, "--force").Ok();
        Assert.Equal("new content", File.ReadAllText(back));
        fx.Run("encrypt", "--key", Key(), plain, plain, "--force").Fails(1); // IN = OUT
        Assert.Equal("new content", File.ReadAllText(plain));
        Assert.Equal(["b", "c.cfr", "p"], Directory.GetFiles(dir).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void Missing_input_exits_3()
    {
        var dir = fx.NewDir();
        fx.Run("encrypt", "--key", Key(), Path.Combine(dir, "nope"), Path.Combine(dir, "c")).Fails(3);
        fx.Run("decrypt", Path.Combine(dir, "nope"), Path.Combine(dir, "p")).Fails(3);
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Theory]
    [InlineData("plain text, not a Coffre file at all, long enough to pass the envelope length checks")]
    [InlineData("")]
    [InlineData("CF")]
    public void Decrypting_a_non_Coffre_file_exits_2(string content)
    {
        var dir = fx.NewDir();
        File.WriteAllText(Path.Combine(dir, "in"), content);
        fx.Run("decrypt", Path.Combine(dir, "in"), Path.Combine(dir, "out")).Fails(2);
        Assert.Equal(["in"], Directory.GetFiles(dir).Select(Path.GetFileName));
    }

    public static TheoryData<string> Tamperings =>
    [
        "envelope-magic", "envelope-version", "key-id", "key-id-length", "key-version", "key-version-low", "wrapped-key",
        "stream-magic", "stream-salt", "stream-commitment", "first-segment", "middle-segment", "last-tag",
        "truncate-in-envelope", "truncate-after-envelope", "truncate-after-header", "truncate-at-segment-boundary",
        "truncate-mid-segment", "truncate-last-byte", "append-byte", "append-segment", "swap-segments", "swap-envelopes",
    ];

    [Theory]
    [MemberData(nameof(Tamperings))]
    public void Tampered_files_exit_2_and_leave_no_output_and_no_temp_file(string how)
    {
        var (original, other) = Originals();
        var bytes = (byte[])original.Clone();
        var env = EnvelopeLength(bytes);
        var m = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(5));
        var stream = env + HeaderLength;
        var seg = Segment + TagLength;
        switch (how)
        {
            case "envelope-magic": bytes[1] ^= 0x01; break;
            case "envelope-version": bytes[4] ^= 0x02; break;
            case "key-id": bytes[7 + m / 2] ^= 0x01; break;
            case "key-id-length": bytes[6] ^= 0x01; break;
            case "key-version": bytes[7 + m] ^= 0x01; break;           // most significant byte: version 2^24 + 1
            case "key-version-low": bytes[7 + m + 3] ^= 0x02; break;   // version 3 of a 1-version key
            case "wrapped-key": bytes[7 + m + 5 + 20] ^= 0x01; break;
            case "stream-magic": bytes[env] ^= 0x01; break;
            case "stream-salt": bytes[env + 8 + 5] ^= 0x01; break;
            case "stream-commitment": bytes[env + 40 + 5] ^= 0x01; break;
            case "first-segment": bytes[stream + 100] ^= 0x01; break;
            case "middle-segment": bytes[stream + seg + 100] ^= 0x01; break;
            case "last-tag": bytes[^1] ^= 0x01; break;
            case "truncate-in-envelope": bytes = bytes[..(env - 10)]; break;
            case "truncate-after-envelope": bytes = bytes[..env]; break;
            case "truncate-after-header": bytes = bytes[..stream]; break;
            case "truncate-at-segment-boundary": bytes = bytes[..(stream + 2 * seg)]; break;
            case "truncate-mid-segment": bytes = bytes[..(stream + seg + 1000)]; break;
            case "truncate-last-byte": bytes = bytes[..^1]; break;
            case "append-byte": bytes = [.. bytes, 0]; break;
            case "append-segment": bytes = [.. bytes, .. bytes.AsSpan(stream, seg)]; break;
            case "swap-segments":
                bytes.AsSpan(stream + seg, seg).CopyTo(bytes.AsSpan(stream));
                original.AsSpan(stream, seg).CopyTo(bytes.AsSpan(stream + seg));
                break;
            case "swap-envelopes":
                Assert.Equal(env, EnvelopeLength(other));
                other.AsSpan(0, env).CopyTo(bytes);
                break;
            default: throw new ArgumentException(how);
        }
        Assert.False(bytes.AsSpan().SequenceEqual(original));

        var dir = fx.NewDir();
        var input = Path.Combine(dir, "tampered.cfr");
        File.WriteAllBytes(input, bytes);
        var r = fx.Run("decrypt", input, Path.Combine(dir, "out.bin")).Fails(2);
        Assert.DoesNotContain("   at ", r.Stderr); // a message, not a stack trace
        Assert.Equal(["tampered.cfr"], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName));
    }

    private static readonly object Gate = new();
    private static (byte[], byte[])? _originals;

    /// <summary>Two files of 3 segments (64 KiB, 64 KiB, 10000 B) encrypted under the same key, and a check that they decrypt.</summary>
    private (byte[] Original, byte[] Other) Originals()
    {
        lock (Gate)
        {
            if (_originals is { } done) return done;
            var dir = fx.NewDir();
            var results = new List<byte[]>();
            foreach (var name in new[] { "a", "b" })
            {
                var plain = Path.Combine(dir, name);
                File.WriteAllBytes(plain, RandomNumberGenerator.GetBytes(2 * Segment + 10000));
                fx.Run("encrypt", "--key", Key(), plain, plain + ".cfr").Ok();
                fx.Run("decrypt", plain + ".cfr", plain + ".back").Ok();
                Assert.True(File.ReadAllBytes(plain).AsSpan().SequenceEqual(File.ReadAllBytes(plain + ".back")));
                results.Add(File.ReadAllBytes(plain + ".cfr"));
            }
            _originals = (results[0], results[1]);
            return _originals.Value;
        }
    }
}
