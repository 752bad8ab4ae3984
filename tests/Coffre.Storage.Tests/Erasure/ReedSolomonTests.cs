using System.Diagnostics;
using Coffre.Storage.Erasure;
using FsCheck;
using FsCheck.Xunit;

namespace Coffre.Storage.Tests.Erasure;

public class ReedSolomonTests
{
    private static (byte[] Data, byte[] Parity) Encode(ReedSolomon rs, int blockLength, int seed)
    {
        var data = new byte[rs.K * blockLength];
        new Random(seed).NextBytes(data);
        var parity = new byte[(rs.N - rs.K) * blockLength];
        rs.Encode(data, blockLength, parity);
        return (data, parity);
    }

    private static byte[] Share(ReedSolomon rs, byte[] data, byte[] parity, int blockLength, int i) =>
        i < rs.K ? data.AsSpan(i * blockLength, blockLength).ToArray() : parity.AsSpan((i - rs.K) * blockLength, blockLength).ToArray();

    [Property(MaxTest = 300)]
    public void Any_k_of_n_shares_rebuild_the_stripe(PositiveInt kChoice, NonNegativeInt extra, NonNegativeInt lengthChoice, int seed)
    {
        var k = 1 + kChoice.Get % 12;
        var n = k + 1 + extra.Get % 8;
        var blockLength = lengthChoice.Get % 300; // across every vector width and the scalar tail
        var rs = new ReedSolomon(k, n);
        var (data, parity) = Encode(rs, blockLength, seed);
        var indices = Enumerable.Range(0, n).OrderBy(_ => Random.Shared.Next()).Take(k).ToArray();
        var shares = indices.SelectMany(i => Share(rs, data, parity, blockLength, i)).ToArray();
        var rebuilt = new byte[k * blockLength];
        rs.Decode(indices, rs.DecodingMatrix(indices), shares, blockLength, rebuilt);
        Assert.Equal(data, rebuilt);
    }

    [Property(MaxTest = 100)]
    public void Fewer_than_k_shares_are_refused(PositiveInt kChoice, NonNegativeInt missing)
    {
        var k = 2 + kChoice.Get % 10;
        var rs = new ReedSolomon(k, k + 2);
        var given = Enumerable.Range(0, k - 1 - missing.Get % (k - 1)).ToArray();
        var e = Assert.Throws<InsufficientSharesException>(() => rs.DecodingMatrix(given));
        Assert.Contains($"{k} shares are needed", e.Message);
    }

    [Fact]
    public void Repeated_share_numbers_are_refused()
    {
        var rs = new ReedSolomon(3, 5);
        Assert.Throws<ArgumentException>(() => rs.DecodingMatrix([0, 4, 4]));
    }

    [Property(MaxTest = 300)]
    public void Region_multiply_agrees_with_the_field_on_every_path(byte c, NonNegativeInt lengthChoice, int seed)
    {
        var length = lengthChoice.Get % 400;
        var src = new byte[length];
        var dst = new byte[length];
        var random = new Random(seed);
        random.NextBytes(src);
        random.NextBytes(dst);
        var expected = dst.Select((d, i) => (byte)(d ^ Gf256.Mul(c, src[i]))).ToArray();
        GfRegion.MulAdd(dst, src, c);
        Assert.Equal(expected, dst);
    }

    [Fact]
    public void The_field_is_zfecs()
    {
        // zfec's generate_gf: α^8 = x^4 + x^3 + x^2 + 1 (Pp = "101110001"), so 0x80·2 = 0x1D.
        Assert.Equal(0x1D, Gf256.Mul(0x80, 2));
        for (var a = 1; a < 256; a++) Assert.Equal(1, Gf256.Mul((byte)a, Gf256.Inverse((byte)a)));
    }

    /// <summary>
    /// zfec itself (Debian's python3-zfec) encodes the same random stripes: its shares must equal ours byte for byte,
    /// and ours must decode from any k of its shares. The package is a requirement of the test command.
    /// </summary>
    [Theory]
    [InlineData(1, 2, 17)]
    [InlineData(2, 3, 4096)]
    [InlineData(3, 5, 1000)]
    [InlineData(4, 6, 65536)]
    [InlineData(3, 10, 333)]
    [InlineData(10, 20, 129)]
    public void Shares_are_zfecs_byte_for_byte(int k, int n, int blockLength)
    {
        var rs = new ReedSolomon(k, n);
        var (data, parity) = Encode(rs, blockLength, k * 1000 + n);
        var dir = Directory.CreateTempSubdirectory("coffre-zfec-");
        try
        {
            File.WriteAllBytes(Path.Combine(dir.FullName, "data"), data);
            var zfecShares = Zfec(k, n, blockLength, dir.FullName);
            for (var i = 0; i < n; i++) Assert.Equal(Share(rs, data, parity, blockLength, i), zfecShares[i]);
            var indices = Enumerable.Range(0, n).Reverse().Take(k).ToArray(); // parity first: the hardest decode
            var rebuilt = new byte[k * blockLength];
            rs.Decode(indices, rs.DecodingMatrix(indices), indices.SelectMany(i => zfecShares[i]).ToArray(), blockLength, rebuilt);
            Assert.Equal(data, rebuilt);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    private static byte[][] Zfec(int k, int n, int blockLength, string dir)
    {
        const string script = """
            import sys, zfec
            k, n, L, d = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
            data = open(d + "/data", "rb").read()
            for i, s in enumerate(zfec.Encoder(k, n).encode([data[j * L:(j + 1) * L] for j in range(k)])):
                open("%s/share%d" % (d, i), "wb").write(s)
            """;
        Assert.True(File.Exists("/usr/bin/python3"), "Debian's python3 is required (scripts/test.sh installs it)");
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true };
        foreach (var a in new[] { "-c", script, k.ToString(), n.ToString(), blockLength.ToString(), dir }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, "zfec failed (python3-zfec is required: .ci/install-test-deps.sh installs it): " + err);
        return Enumerable.Range(0, n).Select(i => File.ReadAllBytes(Path.Combine(dir, $"share{i}"))).ToArray();
    }
}
