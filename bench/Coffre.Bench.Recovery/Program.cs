using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Amazon.S3.Model;
using Coffre.Bench.Gateway;
using Coffre.TestSupport;
using static Coffre.Bench.Gateway.Rates;
using static Coffre.Bench.Gateway.Transfers;

// Erasure coding and recovery benchmark (issue 18). Usage:
//   dotnet run -c Release --project bench/Coffre.Bench.Recovery -- [--objects 50] [--size-kib 1024] [--rounds 3] [--concurrency 8] [--recover-objects 2000]
// 1. PUT and GET through `coffre serve`: 1 copy, 3 full copies, and 2-of-3 erasure coding, over the same three s3rver
//    instances (one per "operator"), interleaved round by round so that the machine's load falls on all alike.
// 2. `coffre recover` after catalog.db is deleted: objects per second, for --recover-objects objects of 1 KiB on local
//    disk and on s3rver (each round deletes the catalog again and recovers it whole).
// One warm-up round, then --rounds measured rounds; medians and spread (min–max) as markdown, with the load average
// before and after (other builds share the machine: compare rows of one run, not absolute rates).
var objects = Arg("--objects", 50);
var sizeKiB = Arg("--size-kib", 1024);
var rounds = Arg("--rounds", 3);
var concurrency = Arg("--concurrency", 8);
var recoverObjects = Arg("--recover-objects", 2000);
var size = sizeKiB * 1024;
Console.WriteLine($"# Erasure coding and recovery benchmark; load average before: {File.ReadAllText("/proc/loadavg").Trim()}");
Console.WriteLine();

var servers = new[] { new S3rverServer(["one", "three", "erasure", "rec"]), new S3rverServer(["three", "erasure"]), new S3rverServer(["three", "erasure"]) };
await Task.WhenAll(servers.Select(s => s.StartAsync()));
try
{
    string S3Backend(ExternalServer server, string bucket, string op) => $$"""
        { "Type": "s3", "Facts": { "Country": "FR", "Operator": "{{op}}", "Jurisdiction": "FR" }, "S3": { "Endpoint": "{{server.Endpoint}}", "Region": "us-east-1",
          "Bucket": "{{bucket}}", "ForcePathStyle": true, "AccessKeyId": "{{server.AccessKey}}", "SecretAccessKey": "{{server.SecretKey}}", "AllowInsecureHttp": true } }
        """;
    string Three(string bucket) => string.Join(", ", servers.Select((s, i) => $"\"s{i}\": {S3Backend(s, bucket, $"Op{i}")}"));
    string Config(string backends, string placement) => $$"""{ "Coffre": { "Backends": { {{backends}} }, "Buckets": { "bench": { "Placement": {{placement}} } } } }""";

    // ---- 1. Erasure coding vs full copies, through the gateway ----
    var body = new byte[size];
    Random.Shared.NextBytes(body);
    var placements = new (string Name, string Config)[]
    {
        ("1 copy (s0)", Config($"\"s0\": {S3Backend(servers[0], "one", "Op0")}", """{ "Backends": [ "s0" ], "Copies": 1 }""")),
        ("3 full copies (s0, s1, s2)", Config(Three("three"), """{ "Backends": [ "s0", "s1", "s2" ], "Copies": 3, "DistinctBy": [ "Operator" ] }""")),
        ("2-of-3 erasure (s0, s1, s2)", Config(Three("erasure"), """{ "Backends": [ "s0", "s1", "s2" ], "DistinctBy": [ "Operator" ], "Erasure": { "K": 2, "N": 3 } }""")),
    };
    var gateways = new List<(string Name, CoffreProcess Process)>();
    try
    {
        // One at a time inside the try: a server that fails to start must not leave the others running.
        foreach (var p in placements) gateways.Add((p.Name, new CoffreProcess(p.Config)));
        var results = gateways.ToDictionary(g => g.Name, _ => new List<(double Put, double Get)>());
        var clients = gateways.ToDictionary(g => g.Name, g => Client(g.Process.Endpoint));
        foreach (var c in clients.Values) await c.PutBucketAsync("bench");
        for (var round = 0; round <= rounds; round++)
            foreach (var (name, client) in clients)
            {
                var r = await PutGetAsync(client, "bench", $"r{round}/", objects, body, concurrency);
                if (round > 0) results[name].Add(r);
            }
        Console.WriteLine($"## Gateway PUT/GET of {objects} objects of {sizeKiB} KiB (concurrency {concurrency}): erasure coding vs full copies over three s3rver");
        Console.WriteLine();
        Console.WriteLine("| placement | stored / plaintext | PUT MB/s median (min–max) | GET MB/s median (min–max) |");
        Console.WriteLine("|---|---|---|---|");
        var stored = new[] { "1×", "3×", "1.5×" };
        var baseline = results[placements[0].Name];
        for (var i = 0; i < placements.Length; i++)
        {
            var r = results[placements[i].Name];
            Console.WriteLine($"| {placements[i].Name} | {stored[i]} | {Summary(r.Select(x => x.Put))} | {Summary(r.Select(x => x.Get))} |");
        }
        foreach (var i in new[] { 1, 2 })
        {
            var r = results[placements[i].Name];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| ratio {placements[i].Name} / 1 copy (medians) | | {Median(r.Select(x => x.Put)) / Median(baseline.Select(x => x.Put)):F2}× | {Median(r.Select(x => x.Get)) / Median(baseline.Select(x => x.Get)):F2}× |"));
        }
        Console.WriteLine();
    }
    finally
    {
        foreach (var g in gateways) g.Process.Dispose();
    }

    // ---- 2. Recovery rate ----
    Console.WriteLine($"## `coffre recover` of {recoverObjects} objects of 1 KiB after catalog.db is deleted");
    Console.WriteLine();
    Console.WriteLine("| backend | objects/s median (min–max) |");
    Console.WriteLine("|---|---|");
    var small = new byte[1024];
    Random.Shared.NextBytes(small);
    foreach (var (name, config) in new[] { ("local disk", (string?)null), ("s3rver", $$"""{ "Coffre": { "Backend": {{S3Backend(servers[0], "rec", "Op0")}} } }""") })
    {
        using var server = new CoffreProcess(config);
        var s3 = Client(server.Endpoint);
        await s3.PutBucketAsync("rec");
        await Parallel.ForEachAsync(Enumerable.Range(0, recoverObjects), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, ct) =>
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = "rec", Key = $"o/{i:D6}", InputStream = new MemoryStream(small) }, ct));
        server.Stop();
        var rates = new List<double>();
        for (var round = 0; round <= rounds; round++)
        {
            foreach (var file in Directory.GetFiles(server.DataDirectory, "catalog.db*")) File.Delete(file);
            var started = Stopwatch.GetTimestamp();
            var report = JsonDocument.Parse(Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "coffre.dll"), "recover", "--json", "--data", server.DataDirectory])).RootElement;
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var restored = report.GetProperty("buckets").EnumerateArray().Sum(b => b.GetProperty("versionsRestored").GetInt64());
            if (restored != recoverObjects) throw new InvalidOperationException($"recover restored {restored} of {recoverObjects} objects: {report}");
            if (round > 0) rates.Add(recoverObjects / seconds);
        }
        Console.WriteLine($"| {name} | {Summary(rates)} |");
    }
    Console.WriteLine();
}
finally
{
    foreach (var s in servers) s.Dispose();
}
Console.WriteLine($"Load average after: {File.ReadAllText("/proc/loadavg").Trim()}");

static string Run(string exe, string[] arguments)
{
    var psi = new ProcessStartInfo(exe, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
    psi.Environment["COFFRE_PASSPHRASE"] = "benchmark passphrase (not secret)";
    using var p = Process.Start(psi)!;
    var stdout = p.StandardOutput.ReadToEndAsync();
    var stderr = p.StandardError.ReadToEndAsync();
    p.WaitForExit();
    if (p.ExitCode != 0) throw new InvalidOperationException($"{exe} {string.Join(' ', arguments)} exited with {p.ExitCode}: {stderr.Result}");
    return stdout.Result;
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
