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
using Coffre.Sqlite.Objects;
using Coffre.Postgres.Objects;

// Key lifecycle benchmarks. Usage:
//   dotnet run -c Release --project bench/Coffre.Bench.Lifecycle -- [rewrap] [audit] [gateway-audit] [get-latency]
//       [--small 10000] [--large 20] [--s3-small 1000] [--s3-large 8] [--skip-s3] [--seconds 15] [--rounds 2] [--concurrency 32] [--warmup 12] [--audit-normal] [--profile] [--only audited|unaudited]
//       [--catalog sqlite|postgres] (audit: the object catalog, SQLite in the data directory or a PostgreSQL started for the run)
// (a) rewrap: objects/s of Rewrapper.RunAsync after a rotation, 1 KiB vs 64 MiB objects, local disk and moto.
// (b) audit: in-process PUT+GET of 4 KiB objects, audited KmsDataKeyService vs UnauditedDataKeysForBenchmark.
// (c) gateway-audit: the same through a real in-process server and AWSSDK.S3 clients (GatewayAuditBench).
// (d) get-latency: sequential GETs of 4 KiB objects on an S3 backend (moto), audited vs unaudited.
// Prints markdown; docs/benchmarks.md ("Key lifecycle") keeps the figures of a run.
var opts = Options.Parse(args);
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
        await RewrapBench("S3 (moto)", await MotoBackend(moto, "rewrap-bench"), opts.S3Small, opts.S3Large, opts.Profile);
    }
    Console.WriteLine();
}

if (opts.GetLatency)
{
    Console.WriteLine("## GET latency on an S3 backend (moto): in-process ObjectStore, one reader, 4 KiB objects");
    Console.WriteLine();
    Console.WriteLine("| data keys | GETs | mean ms | p50 ms | p99 ms |");
    Console.WriteLine("|---|---:|---:|---:|---:|");
    using var moto = new MotoServer();
    await moto.StartAsync();
    var backend = await MotoBackend(moto, "latency-bench");
    for (var round = 1; round <= opts.Rounds; round++)
        foreach (var withAudit in opts.Variants(round))
        {
            var (mean, p50, p99, count) = await GetLatencyBench(withAudit, backend, opts);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {(withAudit ? "KmsDataKeyService (audited)" : "UnauditedDataKeysForBenchmark")} | {count} | {mean:F2} | {p50:F2} | {p99:F2} |"));
        }
    Console.WriteLine();
}

if (opts.GatewayAudit)
{
    Console.WriteLine($"## Audit cost through the gateway: AWSSDK.S3 PUT+GET of 4 KiB objects, {opts.Concurrency} clients, {opts.WarmUp} s warm-up then {opts.Seconds} s per run, local disk, audit synchronous={(opts.AuditNormal ? "NORMAL" : "FULL")}");
    Console.WriteLine();
    Console.WriteLine("| round | data keys | PUT+GET pairs/s | CPU µs/pair (whole machine: server, clients, kernel) |");
    Console.WriteLine("|---|---|---:|---:|");
    // One discarded round first: the first server in a process runs at ~2/3 of the rate of the next ones
    // (JIT of the whole ASP.NET Core, SigV4 and AWSSDK stack), and the run right after it was still ~30 %
    // slow in every measurement of 2026-11-25, whichever variant it was.
    foreach (var withAudit in opts.Variants(2))
        await GatewayAuditBench.RunAsync(withAudit, opts.Concurrency, opts.WarmUp, opts.Seconds, opts.AuditNormal);
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
    Console.WriteLine($"## Audit cost: in-process ObjectStore PUT+GET of 4 KiB objects, {opts.Concurrency} workers, {opts.Seconds} s per run, local disk, {opts.Catalog} catalog");
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

// Mean rates, and the median of the rounds' own costs (each round's two runs are back to back, so a round
// is the fairest comparison the noisy host allows, and one disturbed run moves the median least).
static void PrintCost(List<double> audited, List<double> unaudited)
{
    if (audited.Count == 0 || unaudited.Count == 0) return;
    var a = audited.Average();
    var u = unaudited.Average();
    var rounds = audited.Zip(unaudited, (x, y) => (1 - x / y) * 100).Order().ToList();
    var median = rounds.Count % 2 == 1 ? rounds[rounds.Count / 2] : (rounds[rounds.Count / 2 - 1] + rounds[rounds.Count / 2]) / 2;
    Console.WriteLine();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"Mean: audited {a:F0}/s, unaudited {u:F0}/s, cost of auditing {(1 - a / u) * 100:F1} %; per round {string.Join(", ", rounds.Select(r => r.ToString("F1", CultureInfo.InvariantCulture)))} %, median {median:F1} %"));
    Console.WriteLine();
}

static async Task RewrapBench(string backend, CoffreServerOptions options, int small, int large, bool profile)
{
    var dir = Scratch.NewDirectory("coffre-bench-rewrap-");
    using var deployment = await Deployment.InitializeAsync(new DeploymentLocation(dir), "bench", KmsOptions.InsecureForTests);
    var keys = deployment.Keys;
    keys.CreateKey("default", null, "bench");
    var services = new ObjectServices(options, deployment, TimeProvider.System);
    await services.Store.CreateBucketAsync("small", "bench");
    await services.Store.CreateBucketAsync("large", "bench");
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

static async Task<CoffreServerOptions> MotoBackend(MotoServer moto, string bucket)
{
    await moto.CreateBucketAsync(bucket);
    return new CoffreServerOptions
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
}

// Sequential GETs (open, first part, whole body) of small objects: what one reader waits for, audit included.
static async Task<(double Mean, double P50, double P99, int Count)> GetLatencyBench(bool withAudit, CoffreServerOptions backend, Options opts)
{
    var dir = Scratch.NewDirectory("coffre-bench-get-");
    using var deployment = await NewDeployment(dir, opts);
    var services = new ObjectServices(backend, deployment, TimeProvider.System, withAudit ? null : new UnauditedDataKeysForBenchmark());
    var bucket = "get" + Guid.NewGuid().ToString("N")[..8];
    await services.Store.CreateBucketAsync(bucket, "bench");
    var body = RandomNumberGenerator.GetBytes(4096);
    const int objects = 50;
    await Fill(services.Store, bucket, objects, body, 8);
    var times = new List<double>();
    var buffer = new byte[8192];
    var deadline = Stopwatch.StartNew();
    for (var pass = 0; deadline.Elapsed.TotalSeconds < opts.Seconds; pass++)
        for (var i = 0; i < objects; i++)
        {
            var start = Stopwatch.GetTimestamp();
            using (var reader = await services.Store.OpenAsync(await services.Store.GetRecordAsync(bucket, $"o/{i:D6}"), "bench"))
            {
                await reader.PrepareAsync();
                while (await reader.Body.ReadAsync(buffer) > 0) { }
            }
            if (pass > 0) times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds); // pass 0 warms up
        }
    (services.Blobs as IDisposable)?.Dispose();
    times.Sort();
    return (times.Average(), times[times.Count / 2], times[(int)(times.Count * 0.99)], times.Count);
}

static Task Fill(ObjectStore store, string bucket, int count, byte[] body, int parallel) =>
    Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (i, ct) =>
        await store.PutObjectAsync(new PutObjectCommand(bucket, $"o/{i:D6}", new MemoryStream(body, writable: false), body.Length, new ObjectMetadata(), "bench"), ct));

static async Task<Deployment> NewDeployment(string dir, Options opts)
{
    var deployment = await Deployment.InitializeAsync(new DeploymentLocation(dir), "bench", KmsOptions.InsecureForTests);
    deployment.Keys.AuditSynchronousNormal = opts.AuditNormal;
    deployment.Keys.CreateKey("default", null, "bench");
    return deployment;
}

static async Task<(double PairsPerSecond, double CpuMicrosecondsPerPair)> AuditBench(bool withAudit, Options opts)
{
    var dir = Scratch.NewDirectory("coffre-bench-audit-");
    using var deployment = await NewDeployment(dir, opts);
    IDataKeyService dataKeys = withAudit ? new KmsDataKeyService(deployment.Keys) : new UnauditedDataKeysForBenchmark();
    IObjectCatalog catalog = opts.Catalog == "postgres"
        ? await PostgresObjectCatalog.OpenAsync(await BenchPostgres.CreateDatabaseAsync())
        : deployment.OpenCatalog();
    var blobs = new LocalDiskBlobStore(Path.Combine(dir, "objects"));
    var store = new ObjectStore(catalog, blobs, dataKeys, new ObjectStoreOptions(), TimeProvider.System);
    await store.CreateBucketAsync("bench", "bench");
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
            using (var reader = await store.OpenAsync(await store.GetRecordAsync("bench", name), "bench"))
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
    var (commits, records) = deployment.Keys.AuditCommitStatistics;
    if (withAudit) Console.WriteLine($"<!-- audit: {commits} group commits, {(double)records / Math.Max(1, commits):F1} records each -->");
    return (counted / elapsed, cpu.TotalMicroseconds / counted);
}

// The data-key calls of one PUT+GET alone (as ObjectStore makes them), same concurrency, no object I/O:
// what the audit itself costs in CPU (system-wide, so the kernel's journal and I/O threads count too).
static async Task<(double PairsPerSecond, double CpuMicrosecondsPerPair)> DataKeysOnlyBench(bool withAudit, Options opts)
{
    var dir = Scratch.NewDirectory("coffre-bench-kms-");
    using var deployment = await NewDeployment(dir, opts);
    IDataKeyService dataKeys = withAudit ? new KmsDataKeyService(deployment.Keys) : new UnauditedDataKeysForBenchmark();
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

/// <summary>The PostgreSQL of `audit --catalog postgres`: started once per run from a temporary directory, fsync on (as in production).</summary>
static class BenchPostgres
{
    private static readonly Lazy<Task<PostgresServer>> Server = new(() => PostgresServer.StartAsync(fsync: true));

    public static async Task<string> CreateDatabaseAsync() => await (await Server.Value).CreateDatabaseAsync();
}

sealed record Options(bool Rewrap, bool Audit, bool GatewayAudit, bool GetLatency, int Small, int Large, int S3Small, int S3Large, bool SkipS3, int Seconds, int Rounds, int Concurrency, bool Profile, int WarmUp, bool AuditNormal, string? Only, string Catalog = "sqlite")
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
        var getLatency = args.Contains("get-latency");
        if (!rewrap && !audit && !gatewayAudit && !getLatency) rewrap = audit = gatewayAudit = getLatency = true;
        return new Options(rewrap, audit, gatewayAudit, getLatency, Int("--small", 10000), Int("--large", 20), Int("--s3-small", 1000), Int("--s3-large", 8),
            args.Contains("--skip-s3"), Int("--seconds", 15), Int("--rounds", 2), Int("--concurrency", 32), args.Contains("--profile"), Int("--warmup", 12), args.Contains("--audit-normal"), Value("--only"), Value("--catalog") ?? "sqlite");
    }
}
