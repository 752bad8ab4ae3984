using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.Bench.Gateway;
using Coffre.Storage;
using Coffre.Storage.Placement;
using Coffre.TestSupport;
using static Coffre.Bench.Gateway.Rates;
using static Coffre.Bench.Gateway.Transfers;

// Placement benchmark (issue 17). Usage:
//   dotnet run -c Release --project bench/Coffre.Bench.Placement -- [--objects 100] [--size-kib 1024] [--rounds 3] [--concurrency 8]
// One warm-up round, then --rounds measured rounds of each; prints medians and spread (min–max) as markdown, with the
// load average before and after (other builds share the machine). docs/benchmarks.md keeps the figures of a run.
var objects = Arg("--objects", 100);
var sizeKiB = Arg("--size-kib", 1024);
var rounds = Arg("--rounds", 3);
var concurrency = Arg("--concurrency", 8);
var size = sizeKiB * 1024;
var loadBefore = File.ReadAllText("/proc/loadavg").Trim();

using var moto = new MotoServer();
using var s3rver = new S3rverServer();
await Task.WhenAll(moto.StartAsync(), s3rver.StartAsync());
foreach (var b in new[] { "one", "two", "src" }) await moto.CreateBucketAsync(b);
foreach (var b in new[] { "two", "dst" }) await s3rver.CreateBucketAsync(b);

string S3Backend(ExternalServer server, string bucket, string provider) => $$"""
    { "Type": "s3", "Facts": { "Country": "FR", "Operator": "{{provider}}", "Jurisdiction": "FR" }, "S3": { "Endpoint": "{{server.Endpoint}}", "Region": "us-east-1",
      "Bucket": "{{bucket}}", "ForcePathStyle": true, "AccessKeyId": "{{server.AccessKey}}", "SecretAccessKey": "{{server.SecretKey}}", "AllowInsecureHttp": true } }
    """;
string Config(string backends, string buckets) => $$"""{ "Coffre": { "Backends": { {{backends}} }, "Buckets": { {{buckets}} } } }""";

var body = new byte[size];
Random.Shared.NextBytes(body);
Console.WriteLine($"# Placement benchmark: {objects} objects of {sizeKiB} KiB, concurrency {concurrency}, {rounds} rounds after a warm-up; load average before: {loadBefore}");
Console.WriteLine();

// ---- 1. Two copies vs one, through the gateway ----
using (var one = new CoffreProcess(Config($"\"moto\": {S3Backend(moto, "one", "A")}",
           """ "bench": { "Placement": { "Backends": [ "moto" ], "Copies": 1 } } """)))
using (var two = new CoffreProcess(Config($"\"moto\": {S3Backend(moto, "two", "A")}, \"s3rver\": {S3Backend(s3rver, "two", "B")}",
           """ "bench": { "Placement": { "Backends": [ "moto", "s3rver" ], "Copies": 2, "DistinctBy": [ "Operator" ] } } """)))
{
    var results = new Dictionary<string, List<(double Put, double Get)>> { ["1 copy"] = [], ["2 copies"] = [] };
    var clients = new Dictionary<string, AmazonS3Client> { ["1 copy"] = Client(one.Endpoint), ["2 copies"] = Client(two.Endpoint) };
    foreach (var c in clients.Values) await c.PutBucketAsync("bench");
    for (var round = 0; round <= rounds; round++)
        foreach (var (name, client) in clients) // interleaved, so that the machine's load falls on both alike
        {
            var r = await PutGetAsync(client, "bench", $"r{round}/", objects, body, concurrency);
            if (round > 0) results[name].Add(r);
        }
    Console.WriteLine("## Gateway PUT/GET, two copies (moto + s3rver, in parallel) vs one copy (moto)");
    Console.WriteLine();
    Console.WriteLine("| placement | PUT MB/s median (min–max) | GET MB/s median (min–max) |");
    Console.WriteLine("|---|---|---|");
    foreach (var (name, r) in results)
        Console.WriteLine($"| {name} | {Summary(r.Select(x => x.Put))} | {Summary(r.Select(x => x.Get))} |");
    Console.WriteLine($"| ratio 2/1 (medians) | {Median(results["2 copies"].Select(x => x.Put)) / Median(results["1 copy"].Select(x => x.Put)):F2}× | " +
        $"{Median(results["2 copies"].Select(x => x.Get)) / Median(results["1 copy"].Select(x => x.Get)):F2}× |");
    Console.WriteLine();
}

// ---- 2. coffre migrate vs rclone copy, moto -> s3rver ----
using (var migrating = new CoffreProcess(Config($"\"moto\": {S3Backend(moto, "src", "A")}, \"s3rver\": {S3Backend(s3rver, "dst", "B")}",
           """ "docs": { "Placement": { "Backends": [ "moto" ], "Copies": 1 } } """)))
{
    var s3 = Client(migrating.Endpoint);
    await s3.PutBucketAsync("docs");
    await PutManyAsync(s3, "docs", "", objects, body, concurrency);
    var cipherBytes = 0L;
    using (var src = moto.CreateClient())
        for (string? token = null; ;)
        {
            var page = await src.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "src", ContinuationToken = token });
            cipherBytes += page.S3Objects?.Sum(o => o.Size ?? 0) ?? 0;
            if (page.IsTruncated != true) break;
            token = page.NextContinuationToken;
        }
    var rclone = Tools.FindExecutable("rclone") ?? throw new InvalidOperationException("rclone is not installed (apt-get install rclone).");
    var env = new Dictionary<string, string?> { ["AWS_CA_BUNDLE"] = null };
    foreach (var (remote, server) in new[] { ("MOTO", (ExternalServer)moto), ("S3RVER", s3rver) })
    {
        env[$"RCLONE_CONFIG_{remote}_TYPE"] = "s3";
        env[$"RCLONE_CONFIG_{remote}_PROVIDER"] = "Other";
        env[$"RCLONE_CONFIG_{remote}_ENDPOINT"] = server.Endpoint;
        env[$"RCLONE_CONFIG_{remote}_ACCESS_KEY_ID"] = server.AccessKey;
        env[$"RCLONE_CONFIG_{remote}_SECRET_ACCESS_KEY"] = server.SecretKey;
        env[$"RCLONE_CONFIG_{remote}_FORCE_PATH_STYLE"] = "true";
        env[$"RCLONE_CONFIG_{remote}_REGION"] = "us-east-1";
    }
    var coffre = Path.Combine(AppContext.BaseDirectory, "coffre.dll");
    var migrate = new List<double>();
    var copyPhase = new List<double>();
    var rcloneRates = new List<double>();
    for (var round = 0; round <= rounds; round++)
    {
        // Each round moves the whole bucket, alternately there and back, deleting the source so the next round copies all again.
        var (from, to) = round % 2 == 0 ? ("moto", "s3rver") : ("s3rver", "moto");
        var started = Stopwatch.GetTimestamp();
        var output = Run("dotnet", [coffre, "migrate", "docs", "--to", to, "--from", from, "--delete-source", "--parallel", concurrency.ToString(CultureInfo.InvariantCulture),
            "--json", "--data", migrating.DataDirectory], new Dictionary<string, string?>());
        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var copyRate = output.Stderr.Split('\n').Where(l => l.Contains("\"phase\":\"copying\"")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("bytesPerSecond").GetDouble()).LastOrDefault();
        started = Stopwatch.GetTimestamp();
        Run(rclone, ["copy", "moto:src", $"s3rver:dst/rclone-{round}", "--transfers", concurrency.ToString(CultureInfo.InvariantCulture), "-q"], env);
        var rcloneSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (round == 0) continue;
        migrate.Add(cipherBytes / 1e6 / wall);
        copyPhase.Add(copyRate / 1e6);
        rcloneRates.Add(cipherBytes / 1e6 / rcloneSeconds);
    }
    Console.WriteLine($"## Migration of {objects} objects ({cipherBytes / 1e6:F1} MB of ciphertext) between moto and s3rver vs `rclone copy`");
    Console.WriteLine();
    Console.WriteLine("| tool | MB/s median (min–max) |");
    Console.WriteLine("|---|---|");
    Console.WriteLine($"| `coffre migrate --delete-source`, whole command (process start, copy, verify, delete, sweep; waits only for what is left of 2 s since a state change) | {Summary(migrate)} |");
    Console.WriteLine($"| `coffre migrate`, copy phase as its progress reports it | {Summary(copyPhase)} |");
    Console.WriteLine($"| `rclone copy` moto → s3rver (`--transfers {concurrency}`) | {Summary(rcloneRates)} |");
    Console.WriteLine($"| ratio migrate/rclone (medians): whole command {Median(migrate) / Median(rcloneRates):F2}×, copy phase {Median(copyPhase) / Median(rcloneRates):F2}× | |");
    Console.WriteLine();
}

// ---- 3. GET failover when the serving provider is killed mid-object ----
{
    await moto.CreateBucketAsync("fail");
    await s3rver.CreateBucketAsync("fail");
    var catalog = ProviderCatalog.Load(ProviderCatalog.ShippedPath);
    var gaps = new List<double>();
    for (var round = 0; round <= rounds; round++)
    {
        // Fresh servers each round: the killed one is the one serving (the other is made to look slower).
        using var a = new MotoServer();
        using var b = new S3rverServer();
        await Task.WhenAll(a.StartAsync(), b.StartAsync());
        await a.CreateBucketAsync("fail");
        await b.CreateBucketAsync("fail");
        var stores = new (string Name, ExternalServer Server)[] { ("a", a), ("b", b) };
        var facts = stores.Select(s => BackendFacts.Resolve(s.Name, null, new FactsOptions { Country = "FR", Operator = s.Name, Jurisdiction = "FR" }, catalog))
            .ToDictionary(f => f.Backend, StringComparer.Ordinal);
        var policy = new PlacementPolicy { Backends = ["a", "b"], Copies = 2 };
        using var store = new PlacementBlobStore(stores.Select(s => new PlacementBackend(s.Name, new S3BlobStore(new S3BlobStoreOptions
        {
            Name = s.Name, Endpoint = s.Server.Endpoint, Bucket = "fail", ForcePathStyle = true, AccessKeyId = s.Server.AccessKey, SecretAccessKey = s.Server.SecretKey,
        }))).ToList(), new BucketPlacement(new PlacementPlanner(facts), policy, new Dictionary<string, PlacementPolicy>()));
        var blob = new byte[64 << 20];
        Random.Shared.NextBytes(blob);
        await store.PutAsync("objects/big", new MemoryStream(blob), blob.Length, new Dictionary<string, string>());
        store.Health.Succeeded("b", TimeSpan.FromSeconds(5), read: true);
        await using var read = await store.GetAsync("objects/big");
        var buffer = new byte[64 << 10];
        long got = 0;
        var longest = TimeSpan.Zero;
        var killed = false;
        while (true)
        {
            var t = Stopwatch.GetTimestamp();
            var n = await read.Content.ReadAsync(buffer);
            var gap = Stopwatch.GetElapsedTime(t);
            if (killed && gap > longest) longest = gap;
            if (n == 0) break;
            if (!buffer.AsSpan(0, n).SequenceEqual(blob.AsSpan((int)got, n))) throw new InvalidOperationException("the failed-over body differs");
            got += n;
            if (!killed && got >= 8 << 20)
            {
                a.Stop();
                killed = true;
            }
        }
        if (got != blob.Length) throw new InvalidOperationException($"read {got} of {blob.Length} bytes");
        if (round > 0) gaps.Add(longest.TotalMilliseconds);
    }
    Console.WriteLine("## GET failover: the serving provider (moto) SIGKILLed after 8 MiB of a 64 MiB blob; the other copy on s3rver");
    Console.WriteLine();
    Console.WriteLine($"| longest wait for the next bytes after the kill, ms: median (min–max) | {Summary(gaps)} |");
    Console.WriteLine("|---|---|");
    Console.WriteLine();
}
Console.WriteLine($"Load average after: {File.ReadAllText("/proc/loadavg").Trim()}");

static (string Stdout, string Stderr) Run(string exe, string[] arguments, Dictionary<string, string?> env)
{
    var psi = new ProcessStartInfo(exe, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var (k, v) in env)
        if (v is null) psi.Environment.Remove(k);
        else psi.Environment[k] = v;
    using var p = Process.Start(psi)!;
    var stdout = p.StandardOutput.ReadToEndAsync();
    var stderr = p.StandardError.ReadToEndAsync();
    p.WaitForExit();
    if (p.ExitCode != 0) throw new InvalidOperationException($"{exe} {string.Join(' ', arguments)} exited with {p.ExitCode}: {stderr.Result}");
    return (stdout.Result, stderr.Result);
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
