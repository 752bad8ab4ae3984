using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Coffre.Bench.Lifecycle;
using Coffre.Kms.Keys;
using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Objects.Keys;
using Coffre.Server.Hosting;
using Coffre.Storage;
using Coffre.TestSupport;

// Key lifecycle benchmarks. Usage:
//   dotnet run -c Release --project bench/Coffre.Bench.Lifecycle -- [rewrap] [audit] [gateway-audit]
//       [--small 2000] [--large 20] [--s3-small 1000] [--s3-large 8] [--skip-s3] [--seconds 15] [--rounds 2] [--concurrency 32] [--warmup 12] [--audit-normal] [--profile] [--only audited|unaudited]
// (a) rewrap: objects/s of Rewrapper.RunAsync after a rotation, 1 KiB vs 64 MiB objects, local disk and moto.
// (b) audit: in-process PUT+GET of 4 KiB objects, audited KmsDataKeyService vs UnauditedDataKeysForBenchmark.
// (c) gateway-audit: the same through a real in-process server and AWSSDK.S3 clients (GatewayAuditBench).
// Prints markdown; docs/benchmarks.md ("Key lifecycle") keeps the figures of a run.
var opts = Options.Parse(args);
ObjectServices.EnsureThreadsForBlockingCommits(); // as coffre serve and coffre rewrap do
Console.WriteLine($"<!-- {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Trim()} at start -->");

if (opts.Rewrap)
{
    Console.WriteLine("## Rewrap rate (Rewrapper.RunAsync after one rotation, no rate limit)");
    Console.WriteLine();
    Console.WriteLine("| backend | object size | objects | seconds | objects/s | ms/object |");
    Console.WriteLine("|---|---|---|---|---|---|");
    await RewrapBench("local disk", new CoffreServerOptions(), opts.Small, opts.Large, opts.Profile);
    if (!opts.SkipS3)
    {
        using var moto = new MotoServer();
        await moto.StartAsync();
        var bucket = "rewrap-bench";
        await moto.CreateBucketAsync(bucket);
        var s3 = new CoffreServerOptions
        {
            Backend = new BackendOptions
            {
                Type = "s3",
                S3 = new S3BlobStoreOptions
                {
                    Endpoint = moto.Endpoint, Region = moto.Region, Bucket = bucket, ForcePathStyle = true,
                    AccessKeyId = moto.AccessKey, SecretAccessKey = moto.SecretKey, AllowInsecureHttp = true,
                },
            },
        };
        await RewrapBench("S3 (moto)", s3, opts.S3Small, opts.S3Large, opts.Profile);
    }
    Console.WriteLine();
}

if (opts.GatewayAudit)
{
    Console.WriteLine($"## Audit cost through the gateway: AWSSDK.S3 PUT+GET of 4 KiB objects, {opts.Concurrency} clients, {opts.WarmUp} s warm-up then {opts.Seconds} s per run, local disk, audit synchronous={(opts.AuditNormal ? "NORMAL" : "FULL")}");
    Console.WriteLine();
    Console.WriteLine("| round | data keys | PUT+GET pairs/s | CPU µs/pair (whole machine: server, clients, kernel) |");
    Console.WriteLine("|---|---|---:|---:|");
    // One discarded run first: the first server in a process runs at ~2/3 of the rate of the next ones
    // (JIT of the whole ASP.NET Core, SigV4 and AWSSDK stack), whichever variant it is.
    await GatewayAuditBench.RunAsync(true, opts.Concurrency, opts.WarmUp, opts.Seconds);
    var audited = new List<double>();
    var unaudited = new List<double>();
    for (var round = 1; round <= opts.Rounds; round++)
        foreach (var withAudit in opts.Variants(round))
        {
            var (rate, cpu) = await GatewayAuditBench.RunAsync(withAudit, opts.Concurrency, opts.WarmUp, opts.Seconds, opts.AuditNormal);
            (withAudit ? audited : unaudited).Add(rate);
            Console.WriteLine($"| {round} | {(withAudit ? "audited (as coffre serve)" : "UnauditedDataKeysForBenchmark")} | {rate:F0} | {cpu:F0} |");
        }
    PrintCost(audited, unaudited);
}

if (opts.Audit)
{
    Console.WriteLine($"## Audit cost: in-process ObjectStore PUT+GET of 4 KiB objects, {opts.Concurrency} workers, {opts.Seconds} s per run, local disk");
    Console.WriteLine();
    Console.WriteLine("| round | data keys | PUT+GET pairs/s | CPU µs/pair (whole machine) |");
    Console.WriteLine("|---|---|---:|---:|");
    var audited = new List<double>();
    var unaudited = new List<double>();
    for (var round = 1; round <= opts.Rounds; round++)
    {
        foreach (var withAudit in opts.Variants(round))
        {
            var (rate, cpu) = await AuditBench(withAudit, opts);
            (withAudit ? audited : unaudited).Add(rate);
            Console.WriteLine($"| {round} | {(withAudit ? "KmsDataKeyService (audited)" : "UnauditedDataKeysForBenchmark")} | {rate:F0} | {cpu:F0} |");
        }
    }
    foreach (var withAudit in opts.Variants(1))
    {
        var (rate, cpu) = await DataKeysOnlyBench(withAudit, opts);
        Console.WriteLine($"| - | data-key calls of a PUT+GET alone, no object I/O, {(withAudit ? "audited" : "unaudited")} | {rate:F0} | {cpu:F0} |");
    }
    PrintCost(audited, unaudited);
}

Scratch.DeleteAll();

static void PrintCost(List<double> audited, List<double> unaudited)
{
    if (audited.Count == 0 || unaudited.Count == 0) return;
    var a = audited.Average();
    var u = unaudited.Average();
    Console.WriteLine();
    Console.WriteLine($"Mean: audited {a:F0}/s, unaudited {u:F0}/s, cost of auditing {(1 - a / u) * 100:F1} %");
    Console.WriteLine();
}

static async Task RewrapBench(string backend, CoffreServerOptions options, int small, int large, bool profile)
{
    var dir = Scratch.NewDirectory("coffre-bench-rewrap-");
    using var keys = KeyManager.Initialize(dir, "bench", KmsOptions.InsecureForTests);
    keys.CreateKey("default", null, "bench");
    var services = new ObjectServices(options, dir, keys, TimeProvider.System);
    services.Store.CreateBucket("small", "bench");
    services.Store.CreateBucket("large", "bench");
    var smallBody = RandomNumberGenerator.GetBytes(1024);
    var largeBody = RandomNumberGenerator.GetBytes(64 * 1024 * 1024);
    await Fill(services.Store, "small", small, smallBody, 32);
    await Fill(services.Store, "large", large, largeBody, 2);
    keys.RotateKey("default", "bench");
    foreach (var (bucket, count, size) in new[] { ("small", small, "1 KiB"), ("large", large, "64 MiB") })
    {
        if (count == 0) continue;
        var times = new StageTimes();
        // With --profile, the same rewrapper over timing decorators (stage times summed over the concurrent workers).
        var rewrapper = profile
            ? new Rewrapper(services.Catalog, new TimedBlobs(services.Blobs, times), new TimedDataKeys(new KmsDataKeyService(keys), times), TimeProvider.System)
            : services.Rewrapper;
        var sw = Stopwatch.StartNew();
        var result = await rewrapper.RunAsync(new RewrapRequest(Bucket: bucket), "bench");
        sw.Stop();
        if (profile) Console.WriteLine($"<!-- {backend} {size}: {times} -->");
        if (result.Rewrapped != count || result.Remaining != 0) throw new InvalidOperationException($"rewrap of {bucket}: {result}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {backend} | {size} | {count} | {sw.Elapsed.TotalSeconds:F2} | {count / sw.Elapsed.TotalSeconds:F0} | {sw.Elapsed.TotalMilliseconds / count:F2} |"));
    }
    (services.Blobs as IDisposable)?.Dispose();
}

static Task Fill(ObjectStore store, string bucket, int count, byte[] body, int parallel) =>
    Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (i, ct) =>
        await store.PutObjectAsync(new PutObjectCommand(bucket, $"o/{i:D6}", new MemoryStream(body, writable: false), body.Length, new ObjectMetadata(), "bench"), ct));

static KeyManager NewKeyManager(string dir, Options opts)
{
    var keys = KeyManager.Initialize(dir, "bench", KmsOptions.InsecureForTests);
    keys.AuditSynchronousNormal = opts.AuditNormal;
    keys.CreateKey("default", null, "bench");
    return keys;
}

static async Task<(double PairsPerSecond, double CpuMicrosecondsPerPair)> AuditBench(bool withAudit, Options opts)
{
    var dir = Scratch.NewDirectory("coffre-bench-audit-");
    using var keys = NewKeyManager(dir, opts);
    IDataKeyService dataKeys = withAudit ? new KmsDataKeyService(keys) : new UnauditedDataKeysForBenchmark();
    var catalog = new ObjectCatalog(Path.Combine(dir, ObjectServices.CatalogFileName));
    var blobs = new LocalDiskBlobStore(Path.Combine(dir, "objects"));
    var store = new ObjectStore(catalog, blobs, dataKeys, new ObjectStoreOptions(), TimeProvider.System);
    store.CreateBucket("bench", "bench");
    var body = RandomNumberGenerator.GetBytes(4096);
    long pairs = 0;
    var measuring = false;
    using var stop = new CancellationTokenSource();
    var workers = Enumerable.Range(0, opts.Concurrency).Select(w => Task.Run(async () =>
    {
        var buffer = new byte[8192];
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var name = $"w{w}/{n}";
            await store.PutObjectAsync(new PutObjectCommand("bench", name, new MemoryStream(body, writable: false), body.Length, new ObjectMetadata(), "bench"));
            using (var reader = await store.OpenAsync(store.GetRecord("bench", name), "bench"))
                while (await reader.Body.ReadAsync(buffer) > 0) { }
            if (Volatile.Read(ref measuring)) Interlocked.Increment(ref pairs);
        }
    })).ToArray();
    // Warm-up: a fresh store reaches its steady rate only after several seconds (measured: the disk's
    // write rate climbs for ~8 s in both variants), so short runs compare start-up, not cost.
    await Task.Delay(TimeSpan.FromSeconds(opts.WarmUp));
    Volatile.Write(ref measuring, true);
    var sw = Stopwatch.StartNew();
    var cpu = SystemCpu.BusyTime();
    await Task.Delay(TimeSpan.FromSeconds(opts.Seconds));
    var counted = Interlocked.Read(ref pairs);
    var elapsed = sw.Elapsed.TotalSeconds;
    cpu = SystemCpu.BusyTime() - cpu;
    stop.Cancel();
    await Task.WhenAll(workers);
    var (commits, records) = keys.AuditCommitStatistics;
    if (withAudit) Console.WriteLine($"<!-- audit: {commits} group commits, {(double)records / Math.Max(1, commits):F1} records each -->");
    return (counted / elapsed, cpu.TotalMicroseconds / counted);
}

// The data-key calls of one PUT+GET alone (as ObjectStore makes them), same concurrency, no object I/O:
// what the audit itself costs in CPU (system-wide, so the kernel's journal and I/O threads count too).
static async Task<(double PairsPerSecond, double CpuMicrosecondsPerPair)> DataKeysOnlyBench(bool withAudit, Options opts)
{
    var dir = Scratch.NewDirectory("coffre-bench-kms-");
    using var keys = NewKeyManager(dir, opts);
    IDataKeyService dataKeys = withAudit ? new KmsDataKeyService(keys) : new UnauditedDataKeysForBenchmark();
    var context = new Dictionary<string, string> { ["bucket"] = "bench", ["object"] = "x" };
    long pairs = 0;
    var measuring = false;
    using var stop = new CancellationTokenSource();
    var workers = Enumerable.Range(0, opts.Concurrency).Select(_ => Task.Run(async () =>
    {
        while (!stop.IsCancellationRequested)
        {
            var grant = dataKeys.GenerateDataKey("default", context, "bench");
            await grant.Recorded;
            CryptographicOperations.ZeroMemory(grant.Plaintext);
            CryptographicOperations.ZeroMemory(await dataKeys.UnwrapDataKeyAsync(grant.Wrapped, context, "bench"));
            if (Volatile.Read(ref measuring)) Interlocked.Increment(ref pairs);
        }
    })).ToArray();
    await Task.Delay(TimeSpan.FromSeconds(Math.Min(opts.WarmUp, 5)));
    Volatile.Write(ref measuring, true);
    var sw = Stopwatch.StartNew();
    var cpu = SystemCpu.BusyTime();
    await Task.Delay(TimeSpan.FromSeconds(Math.Min(opts.Seconds, 8)));
    var counted = Interlocked.Read(ref pairs);
    var elapsed = sw.Elapsed.TotalSeconds;
    cpu = SystemCpu.BusyTime() - cpu;
    stop.Cancel();
    await Task.WhenAll(workers);
    return (counted / elapsed, cpu.TotalMicroseconds / counted);
}

sealed record Options(bool Rewrap, bool Audit, bool GatewayAudit, int Small, int Large, int S3Small, int S3Large, bool SkipS3, int Seconds, int Rounds, int Concurrency, bool Profile, int WarmUp, bool AuditNormal, string? Only)
{
    /// <summary>Audited (true) and unaudited runs of a round, in alternating order so that drifting background
    /// load favours neither; --only audited|unaudited keeps one (to profile it).</summary>
    public bool[] Variants(int round) =>
        (round % 2 == 1 ? new[] { true, false } : [false, true]).Where(a => Only is null || Only == (a ? "audited" : "unaudited")).ToArray();

    public static Options Parse(string[] args)
    {
        string? Value(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        int Int(string name, int fallback) => Value(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var rewrap = args.Contains("rewrap");
        var audit = args.Contains("audit");
        var gatewayAudit = args.Contains("gateway-audit");
        if (!rewrap && !audit && !gatewayAudit) rewrap = audit = gatewayAudit = true;
        return new Options(rewrap, audit, gatewayAudit, Int("--small", 2000), Int("--large", 20), Int("--s3-small", 1000), Int("--s3-large", 8),
            args.Contains("--skip-s3"), Int("--seconds", 15), Int("--rounds", 2), Int("--concurrency", 32), args.Contains("--profile"), Int("--warmup", 12), args.Contains("--audit-normal"), Value("--only"));
    }
}
