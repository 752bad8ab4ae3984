using System.Diagnostics;
using System.Security.Cryptography;
using Coffre.TestSupport;
using static Coffre.Bench.Gateway.Report;

namespace Coffre.Bench.Gateway;

/// <summary>
/// Goal 1 of issue 20: on the local disk, Coffre against nginx serving the same bytes (static GET with sendfile, WebDAV
/// PUT), curl as the client of both, rounds alternating; the server CPU per GiB of each, the cost of AES-256-GCM and of
/// MD5 per GiB measured in this process, and the verdict: Coffre's GET ≤ 1.5 × (nginx GET + AES-GCM), PUT ≤ 1.5 ×
/// (nginx PUT + AES-GCM + MD5).
/// </summary>
public static class LocalDiskComparison
{
    public static async Task RunAsync(string file, string work, Options opts)
    {
        var curl = Tools.RequireExecutable("curl", "apt-get install curl");
        // nginx's workers run as an unprivileged user when the master runs as root: they must reach and write the root.
        var root = Directory.CreateDirectory(System.IO.Path.Combine(work, "nginx-root")).FullName;
        File.SetUnixFileMode(work, File.GetUnixFileMode(work) | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        File.SetUnixFileMode(root, (UnixFileMode)0b111_111_111);
        using var nginx = NginxServer.StartSite((port, _) => $$"""
            server {
                listen 127.0.0.1:{{port}};
                client_max_body_size 0;
                sendfile on;
                client_body_temp_path {{root}}/.body;
                location / {
                    root {{root}};
                    dav_methods PUT;
                }
            }
            """);
        using var coffre = new CoffreProcess();
        var gateway = new S3Endpoint(coffre.Endpoint, CoffreProcess.AccessKey, CoffreProcess.SecretKey);
        using (var s3 = SdkClient.Connect(gateway)) await s3.PutBucketAsync("bench");
        await Warmup.RunAsync(gateway, "bench", opts.WarmupSeconds);

        // curl signs with SigV4 and sends the body unsigned (as TLS clients do), so neither server hashes it twice.
        string[] signed = ["--aws-sigv4", "aws:amz:us-east-1:s3", "--user", $"{CoffreProcess.AccessKey}:{CoffreProcess.SecretKey}",
            "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"];
        var targets = new (string Label, string Url, string[] Extra, int Pid)[]
        {
            ("nginx (WebDAV PUT, static GET)", $"{nginx.Endpoint}/big.bin", [], nginx.ProcessId),
            ("Coffre → local disk", $"{coffre.Endpoint}/bench/big.bin", signed, coffre.ProcessId),
        };
        var gib = new FileInfo(file).Length / (1024.0 * 1024 * 1024);
        var results = new Dictionary<(string, string, string), Samples>();
        for (var round = 1; round <= opts.Rounds; round++)
        {
            Progress($"local disk: round {round} of {opts.Rounds}");
            foreach (var (label, url, extra, pid) in targets)
            {
                var put = await Meter.MeasureAsync([pid], [pid], gib,
                    () => BenchClient.RunAsync(curl, ["-sS", "-f", "-T", file, .. extra, url], new Dictionary<string, string?>()));
                var get = await Meter.MeasureAsync([pid], [pid], gib,
                    () => BenchClient.RunAsync(curl, ["-sS", "-f", "-o", "/dev/null", .. extra, url], new Dictionary<string, string?>()));
                S3BackendComparison.Record(results, ("curl", label, "PUT"), put);
                S3BackendComparison.Record(results, ("curl", label, "GET"), get);
            }
        }
        var (aes, md5) = CryptoCost();

        Say($"### {opts.SizeMiB} MiB on the local disk, curl: {opts.Rounds} rounds, median (min–max); load average {ServerCpu.LoadAverage()} at the end");
        Say();
        Say("| server | PUT MiB/s | PUT server CPU s/GiB | GET MiB/s | GET server CPU s/GiB | peak RSS MiB (PUT / GET) |");
        Say("|---|---:|---:|---:|---:|---:|");
        foreach (var (label, _, _, _) in targets)
        {
            var put = results[("curl", label, "PUT")];
            var get = results[("curl", label, "GET")];
            Say($"| {label} | {put.Rate(1024)} | {put.CpuPerUnit()} | {get.Rate(1024)} | {get.CpuPerUnit()} | {put.PeakRss()} / {get.PeakRss()} |");
        }
        Say($"| AES-256-GCM, one core, in process | | {aes:F2} | | {aes:F2} | |");
        Say($"| MD5, one core, in process | | {md5:F2} | | | |");
        Say();
        double Cpu(string label, string op) => results[("curl", label, op)].MedianCpuPerUnit;
        var putBound = 1.5 * (Cpu(targets[0].Label, "PUT") + aes + md5);
        var getBound = 1.5 * (Cpu(targets[0].Label, "GET") + aes);
        var putOurs = Cpu(targets[1].Label, "PUT");
        var getOurs = Cpu(targets[1].Label, "GET");
        Say($"Goal 1 verdict (medians): PUT {putOurs:F2} s/GiB against the bound 1.5 × (nginx PUT + AES-GCM + MD5) = {putBound:F2}: " +
            (putOurs <= putBound ? "met" : "missed") + $"; GET {getOurs:F2} s/GiB against 1.5 × (nginx GET + AES-GCM) = {getBound:F2}: " +
            (getOurs <= getBound ? "met" : "missed") + ".");
        Say();

        if (opts.Runs("small"))
        {
            await SmallObjects.RunAsync("Coffre → local disk, access log off (the default)", gateway, coffre.ProcessId, opts);
            using var logged = new CoffreProcess(environment: new Dictionary<string, string>
            {
                ["Coffre__AccessLog"] = "true", ["Logging__LogLevel__Coffre.AccessLog"] = "Information",
            });
            var loggedGateway = gateway with { Url = logged.Endpoint };
            using (var s3 = SdkClient.Connect(loggedGateway)) await s3.PutBucketAsync("bench");
            await Warmup.RunAsync(loggedGateway, "bench", opts.WarmupSeconds);
            await SmallObjects.RunAsync("Coffre → local disk, access log on (console)", loggedGateway, logged.ProcessId, opts);
        }
    }

    /// <summary>CPU seconds per GiB of AES-256-GCM (64 KiB segments, the format's) and of MD5, each on one thread, best of 3.</summary>
    private static (double Aes, double Md5) CryptoCost()
    {
        const int size = 256 << 20, segment = 64 << 10;
        var data = new byte[size];
        var output = new byte[segment];
        var tag = new byte[16];
        Random.Shared.NextBytes(data);
        using var gcm = new AesGcm(RandomNumberGenerator.GetBytes(32), 16);
        var nonce = new byte[12];
        double Best(Action pass)
        {
            var best = double.MaxValue;
            for (var i = 0; i < 3; i++)
            {
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                pass();
                best = Math.Min(best, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
            }
            return best * (1024.0 * 1024 * 1024 / size);
        }
        var aes = Best(() =>
        {
            for (var o = 0; o < size; o += segment)
            {
                nonce[0] = (byte)(o >> 16);
                gcm.Encrypt(nonce, data.AsSpan(o, segment), output, tag);
            }
        });
        var md5 = Best(() =>
        {
            using var h = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
            for (var o = 0; o < size; o += segment) h.AppendData(data.AsSpan(o, segment));
            h.GetHashAndReset();
        });
        return (aes, md5);
    }
}
