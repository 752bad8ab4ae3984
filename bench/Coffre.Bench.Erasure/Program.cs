using System.Diagnostics;
using System.Globalization;
using Coffre.Storage.Erasure;
using Coffre.Storage.Placement;

// Reed–Solomon encode and decode throughput on one core, Coffre's codec and zfec (Debian's python3-zfec, a C codec
// behind Python) on the same data with the same 64 KiB blocks, in one run. Figures are data bytes per second.
//   dotnet run -c Release --project bench/Coffre.Bench.Erasure [-- MiB]
// Decode is the worst case: the first n−k data shares are lost, so every missing block is computed from parity.

var mib = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 64;
var block = ErasurePolicy.DefaultBlockLength;
var data = new byte[mib << 20];
new Random(42).NextBytes(data);
var dataFile = Path.GetTempFileName();
File.WriteAllBytes(dataFile, data);
Console.WriteLine($"{mib} MiB of random data, {block / 1024} KiB blocks, one thread; vector width: " +
    (System.Runtime.Intrinsics.X86.Avx512BW.IsSupported ? "AVX-512BW" : System.Runtime.Intrinsics.X86.Avx2.IsSupported ? "AVX2" : "SSSE3 or scalar"));
Console.WriteLine("| code | Coffre encode | zfec encode | ratio | Coffre decode | zfec decode | ratio |");
Console.WriteLine("|---|---|---|---|---|---|---|");
try
{
    foreach (var (k, n) in new[] { (2, 3), (3, 5), (4, 6) })
    {
        var rs = new ReedSolomon(k, n);
        var stripe = k * block;
        var stripes = data.Length / stripe;
        var parity = new byte[(n - k) * block];
        var rebuilt = new byte[k * block];
        var lost = Enumerable.Range(n - k, k).ToArray(); // shares n−k.. n−1: k − (n−k) data shares and all parity
        var decoding = rs.DecodingMatrix(lost);

        double Time(Action pass)
        {
            pass(); // warm-up (JIT, caches)
            var best = double.MaxValue;
            for (var round = 0; round < 5; round++)
            {
                var started = Stopwatch.GetTimestamp();
                pass();
                best = Math.Min(best, Stopwatch.GetElapsedTime(started).TotalSeconds);
            }
            return (double)stripes * stripe / best;
        }

        var encode = Time(() =>
        {
            for (var s = 0; s < stripes; s++) rs.Encode(data.AsSpan(s * stripe, stripe), block, parity);
        });
        // The shares to decode from, for every stripe (as much memory as the data: decode streams like encode does).
        var coded = new byte[stripes * stripe];
        for (var s = 0; s < stripes; s++)
        {
            rs.Encode(data.AsSpan(s * stripe, stripe), block, parity);
            for (var r = 0; r < k; r++)
            {
                var i = lost[r];
                (i < k ? data.AsSpan(s * stripe + i * block, block) : parity.AsSpan((i - k) * block, block)).CopyTo(coded.AsSpan(s * stripe + r * block));
            }
        }
        var decode = Time(() =>
        {
            for (var s = 0; s < stripes; s++) rs.Decode(lost, decoding, coded.AsSpan(s * stripe, stripe), block, rebuilt);
        });
        if (!rebuilt.AsSpan().SequenceEqual(data.AsSpan((stripes - 1) * stripe, stripe))) throw new InvalidOperationException("decode is wrong");
        var (zEncode, zDecode) = Zfec(k, n, block, dataFile, lost);
        Console.WriteLine($"| {k}-of-{n} | {Gb(encode)} | {Gb(zEncode)} | {encode / zEncode:F1}× | {Gb(decode)} | {Gb(zDecode)} | {decode / zDecode:F1}× |");
    }
}
finally
{
    File.Delete(dataFile);
}

static string Gb(double bytesPerSecond) => $"{bytesPerSecond / 1e9:F2} GB/s";

static (double Encode, double Decode) Zfec(int k, int n, int block, string dataFile, int[] lost)
{
    const string script = """
        import sys, time, zfec
        k, n, L, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
        nums = [int(x) for x in sys.argv[5].split(",")]
        data = open(path, "rb").read()
        S = k * L
        stripes = [[data[s + j * L:s + (j + 1) * L] for j in range(k)] for s in range(0, len(data) - S + 1, S)]
        enc, dec = zfec.Encoder(k, n), zfec.Decoder(k, n)
        def best(f):
            f()
            t = min((lambda a: (f(), time.perf_counter() - a)[1])(time.perf_counter()) for _ in range(5))
            return len(stripes) * S / t
        e = best(lambda: [enc.encode(b) for b in stripes])
        chosen = [[shares[i] for i in nums] for shares in (enc.encode(b) for b in stripes)]
        d = best(lambda: [dec.decode(c, nums) for c in chosen])
        print(e, d)
        """;
    var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in new[] { "-c", script, k.ToString(CultureInfo.InvariantCulture), n.ToString(CultureInfo.InvariantCulture),
                 block.ToString(CultureInfo.InvariantCulture), dataFile, string.Join(",", lost) }) psi.ArgumentList.Add(a);
    using var p = Process.Start(psi)!;
    var output = p.StandardOutput.ReadToEnd();
    var error = p.StandardError.ReadToEnd();
    p.WaitForExit();
    if (p.ExitCode != 0) throw new InvalidOperationException("zfec (python3-zfec) failed: " + error);
    var parts = output.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    return (double.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[1], CultureInfo.InvariantCulture));
}
