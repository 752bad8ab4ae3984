using System.Diagnostics;
using System.Globalization;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.S3.Transfer;
using Coffre.Bench.Gateway;
using Coffre.TestSupport;

// End-to-end gateway benchmark (issue 3). Usage:
//   dotnet run -c Release --project bench/Coffre.Bench.Gateway -- [--size-mib 1024] [--rss-size-mib 4096]
//       [--small-seconds 10] [--concurrency 32] [--skip-rclone] [--skip-rss]
// Prints a markdown report; docs/benchmarks.md keeps the figures of a run.
var opts = Options.Parse(args);
var report = new List<string>();
void Say(string line) { Console.WriteLine(line); report.Add(line); }

var work = Directory.CreateTempSubdirectory("coffre-bench-files-").FullName;
try
{
    var bigFile = Path.Combine(work, "big.bin");
    WriteRandomFile(bigFile, opts.SizeMiB * 1024L * 1024);

    using var moto = new MotoServer();
    await moto.StartAsync();
    await moto.CreateBucketAsync("direct");
    await moto.CreateBucketAsync("backend");
    using var local = new CoffreProcess();
    using var overS3 = new CoffreProcess($$"""
        { "Coffre": { "Backend": { "Type": "s3", "S3": {
            "Endpoint": "{{moto.Endpoint}}", "Region": "us-east-1", "Bucket": "backend", "ForcePathStyle": true,
            "AccessKeyId": "{{moto.AccessKey}}", "SecretAccessKey": "{{moto.SecretKey}}", "AllowInsecureHttp": true } } } }
        """);

    Say($"## Gateway throughput, {opts.SizeMiB} MiB object, AWSSDK.S3 TransferUtility (16 MiB parts) / one GetObject stream");
    Say("");
    Say("| path | PUT MB/s | GET MB/s |");
    Say("|---|---|---|");
    var direct = await PutGet(Client(moto.Endpoint, moto.AccessKey, moto.SecretKey), "direct", bigFile);
    var viaS3 = await PutGet(Client(overS3.Endpoint), "bench", bigFile, createBucket: true);
    var viaLocal = await PutGet(Client(local.Endpoint), "bench", bigFile, createBucket: true);
    Say($"| client → moto (direct, no encryption) | {direct.Put:F0} | {direct.Get:F0} |");
    Say($"| client → Coffre → moto | {viaS3.Put:F0} | {viaS3.Get:F0} |");
    Say($"| client → Coffre → local disk | {viaLocal.Put:F0} | {viaLocal.Get:F0} |");
    Say($"| ratio Coffre→moto / direct | {viaS3.Put / direct.Put:F2}× | {viaS3.Get / direct.Get:F2}× |");
    Say("");

    if (!opts.SkipRclone && Tools.FindExecutable("rclone") is { } rclone)
    {
        Say($"## rclone {opts.SizeMiB} MiB: through Coffre vs rclone crypt over the same moto");
        Say("");
        Say("| path | upload MB/s | download MB/s |");
        Say("|---|---|---|");
        var obscured = Run(rclone, ["obscure", "bench-password"], new()).Trim();
        var env = new Dictionary<string, string?>
        {
            ["AWS_CA_BUNDLE"] = null,
            ["RCLONE_CONFIG_MOTO_TYPE"] = "s3", ["RCLONE_CONFIG_MOTO_PROVIDER"] = "Other", ["RCLONE_CONFIG_MOTO_ENDPOINT"] = moto.Endpoint,
            ["RCLONE_CONFIG_MOTO_ACCESS_KEY_ID"] = moto.AccessKey, ["RCLONE_CONFIG_MOTO_SECRET_ACCESS_KEY"] = moto.SecretKey,
            ["RCLONE_CONFIG_MOTO_FORCE_PATH_STYLE"] = "true", ["RCLONE_CONFIG_MOTO_REGION"] = "us-east-1",
            ["RCLONE_CONFIG_CRYPT_TYPE"] = "crypt", ["RCLONE_CONFIG_CRYPT_REMOTE"] = "moto:direct/crypt",
            ["RCLONE_CONFIG_CRYPT_PASSWORD"] = obscured,
            ["RCLONE_CONFIG_GW_TYPE"] = "s3", ["RCLONE_CONFIG_GW_PROVIDER"] = "Other", ["RCLONE_CONFIG_GW_ENDPOINT"] = overS3.Endpoint,
            ["RCLONE_CONFIG_GW_ACCESS_KEY_ID"] = CoffreProcess.AccessKey, ["RCLONE_CONFIG_GW_SECRET_ACCESS_KEY"] = CoffreProcess.SecretKey,
            ["RCLONE_CONFIG_GW_FORCE_PATH_STYLE"] = "true", ["RCLONE_CONFIG_GW_REGION"] = "us-east-1",
        };
        string[] common = ["--s3-chunk-size", "16M", "--s3-upload-concurrency", "4", "--s3-upload-cutoff", "16M", "-q"];
        double Rate(long bytes, TimeSpan t) => bytes / 1e6 / t.TotalSeconds;
        var size = new FileInfo(bigFile).Length;
        var cryptUp = Time(() => Run(rclone, ["copyto", bigFile, "crypt:big.bin", .. common], env));
        var gwUp = Time(() => Run(rclone, ["copyto", bigFile, "gw:bench/rclone-big.bin", .. common], env));
        var outFile = Path.Combine(work, "down.bin");
        var cryptDown = Time(() => Run(rclone, ["copyto", "crypt:big.bin", outFile, .. common], env));
        File.Delete(outFile);
        var gwDown = Time(() => Run(rclone, ["copyto", "gw:bench/rclone-big.bin", outFile, .. common], env));
        File.Delete(outFile);
        Say($"| rclone crypt → moto | {Rate(size, cryptUp):F0} | {Rate(size, cryptDown):F0} |");
        Say($"| rclone → Coffre → moto | {Rate(size, gwUp):F0} | {Rate(size, gwDown):F0} |");
        Say("");
    }

    if (!opts.SkipRss)
    {
        var rssFile = Path.Combine(work, "rss.bin");
        WriteRandomFile(rssFile, opts.RssSizeMiB * 1024L * 1024);
        var s3 = Client(local.Endpoint);
        var baseline = local.ResidentBytes();
        long peakPut = 0, peakGet = 0;
        using (var sampler = new Sampler(() => peakPut = Math.Max(peakPut, local.ResidentBytes())))
            await new TransferUtility(s3, new TransferUtilityConfig { ConcurrentServiceRequests = 4 })
                .UploadAsync(new TransferUtilityUploadRequest { BucketName = "bench", Key = "rss.bin", FilePath = rssFile, PartSize = 16 << 20 });
        using (var sampler = new Sampler(() => peakGet = Math.Max(peakGet, local.ResidentBytes())))
        {
            using var get = await s3.GetObjectAsync("bench", "rss.bin");
            await get.ResponseStream.CopyToAsync(Stream.Null);
        }
        File.Delete(rssFile);
        Say($"## Server resident memory while streaming a {opts.RssSizeMiB} MiB object (local disk)");
        Say("");
        Say($"| phase | RSS (MiB) |");
        Say("|---|---|");
        Say($"| idle, after the runs above | {baseline / 1048576.0:F0} |");
        Say($"| peak during PUT (4 parallel 16 MiB parts) | {peakPut / 1048576.0:F0} |");
        Say($"| peak during GET (one stream) | {peakGet / 1048576.0:F0} |");
        Say("");
    }

    var (puts, gets) = await SmallObjects(Client(local.Endpoint), opts.Concurrency, TimeSpan.FromSeconds(opts.SmallSeconds));
    Say($"## Small objects: 4 KiB, {opts.Concurrency} concurrent clients, {opts.SmallSeconds} s each phase, local disk, audit on");
    Say("");
    Say("| operation | requests/s |");
    Say("|---|---|");
    Say($"| PUT | {puts:F0} |");
    Say($"| GET | {gets:F0} |");
}
finally
{
    Directory.Delete(work, true);
}
return 0;

static AmazonS3Client Client(string endpoint, string accessKey = CoffreProcess.AccessKey, string secretKey = CoffreProcess.SecretKey) =>
    new(new BasicAWSCredentials(accessKey, secretKey), new AmazonS3Config
    {
        ServiceURL = endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1", UseHttp = true,
        Timeout = TimeSpan.FromMinutes(10), MaxErrorRetry = 0,
    });

static async Task<(double Put, double Get)> PutGet(AmazonS3Client s3, string bucket, string file, bool createBucket = false)
{
    if (createBucket) await s3.PutBucketAsync(bucket);
    var size = new FileInfo(file).Length;
    var sw = Stopwatch.StartNew();
    await new TransferUtility(s3, new TransferUtilityConfig { ConcurrentServiceRequests = 4 })
        .UploadAsync(new TransferUtilityUploadRequest { BucketName = bucket, Key = "big.bin", FilePath = file, PartSize = 16 << 20 });
    var put = size / 1e6 / sw.Elapsed.TotalSeconds;
    sw.Restart();
    using (var get = await s3.GetObjectAsync(bucket, "big.bin"))
        await get.ResponseStream.CopyToAsync(Stream.Null);
    var getRate = size / 1e6 / sw.Elapsed.TotalSeconds;
    return (put, getRate);
}

static async Task<(double Puts, double Gets)> SmallObjects(AmazonS3Client s3, int concurrency, TimeSpan phase)
{
    await s3.PutBucketAsync("small");
    var body = new byte[4096];
    Random.Shared.NextBytes(body);
    long written = 0;
    var deadline = DateTime.UtcNow + phase;
    var sw = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async w =>
    {
        for (var i = 0; DateTime.UtcNow < deadline; i++)
        {
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = "small", Key = $"w{w}/o{i}", InputStream = new MemoryStream(body), UseChunkEncoding = false });
            Interlocked.Increment(ref written);
        }
    }));
    var puts = written / sw.Elapsed.TotalSeconds;
    var keys = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "small", MaxKeys = 1000 });
    long read = 0;
    deadline = DateTime.UtcNow + phase;
    sw.Restart();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async w =>
    {
        var rnd = new Random(w);
        while (DateTime.UtcNow < deadline)
        {
            using var get = await s3.GetObjectAsync("small", keys.S3Objects[rnd.Next(keys.S3Objects.Count)].Key);
            await get.ResponseStream.CopyToAsync(Stream.Null);
            Interlocked.Increment(ref read);
        }
    }));
    return (puts, read / sw.Elapsed.TotalSeconds);
}

static void WriteRandomFile(string path, long size)
{
    var buffer = new byte[1 << 20];
    using var f = File.Create(path);
    for (long done = 0; done < size; done += buffer.Length)
    {
        Random.Shared.NextBytes(buffer);
        f.Write(buffer, 0, (int)Math.Min(buffer.Length, size - done));
    }
}

static TimeSpan Time(Action action)
{
    var sw = Stopwatch.StartNew();
    action();
    return sw.Elapsed;
}

static string Run(string exe, string[] arguments, Dictionary<string, string?> env)
{
    var psi = new ProcessStartInfo(exe, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var (k, v) in env) psi.Environment[k] = v;
    using var p = Process.Start(psi)!;
    var stdout = p.StandardOutput.ReadToEndAsync();
    var stderr = p.StandardError.ReadToEndAsync();
    p.WaitForExit();
    if (p.ExitCode != 0) throw new InvalidOperationException($"{exe} {string.Join(' ', arguments)} failed: {stderr.Result}");
    return stdout.Result;
}

/// <summary>Calls a probe every 50 ms until disposed.</summary>
sealed class Sampler : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    public Sampler(Action probe) => _loop = Task.Run(async () =>
    {
        while (!_stop.IsCancellationRequested)
        {
            probe();
            try { await Task.Delay(50, _stop.Token); } catch (OperationCanceledException) { }
        }
    });
    public void Dispose()
    {
        _stop.Cancel();
        _loop.Wait();
    }
}

sealed record Options(int SizeMiB, int RssSizeMiB, int SmallSeconds, int Concurrency, bool SkipRclone, bool SkipRss)
{
    public static Options Parse(string[] args)
    {
        int Int(string name, int fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
        }
        return new Options(Int("--size-mib", 1024), Int("--rss-size-mib", 4096), Int("--small-seconds", 10), Int("--concurrency", 32),
            args.Contains("--skip-rclone"), args.Contains("--skip-rss"));
    }
}
