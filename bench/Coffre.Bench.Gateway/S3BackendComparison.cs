using Coffre.TestSupport;
using static Coffre.Bench.Gateway.Report;

namespace Coffre.Bench.Gateway;

/// <summary>
/// Goal 2 of issue 20: through one S3 backend (s3rver or moto), in the same run and with the same file, each client
/// against the backend directly, through a plain nginx reverse proxy, through rclone crypt (rclone only), and through
/// Coffre; rounds alternate the paths. Reports throughput, the server CPU of each path per GiB, and the hop's peak RSS.
/// </summary>
public static class S3BackendComparison
{
    private const string Bucket = "bench";

    private sealed record Path(string Label, S3Endpoint? Endpoint, int[] ServerPids, int[] HopPids);

    public static async Task RunAsync(string name, ExternalServer backend, IReadOnlyList<BenchClient> clients, string file, Options opts)
    {
        Progress($"{name}: starting the backend, nginx and Coffre");
        await backend.StartAsync();
        await backend.CreateBucketAsync(Bucket);
        await backend.CreateBucketAsync("coffre");
        using var nginx = NginxServer.Start([backend.Port]);
        using var coffre = new CoffreProcess($$"""
            { "Coffre": { "Backend": { "Type": "s3", "S3": {
                "Endpoint": "{{backend.Endpoint}}", "Region": "us-east-1", "Bucket": "coffre", "ForcePathStyle": true,
                "AccessKeyId": "{{backend.AccessKey}}", "SecretAccessKey": "{{backend.SecretKey}}", "AllowInsecureHttp": true } } } }
            """);
        var backendPid = backend.ProcessId!.Value;
        var direct = new S3Endpoint(backend.Endpoint, backend.AccessKey, backend.SecretKey);
        var gateway = new S3Endpoint(coffre.Endpoint, CoffreProcess.AccessKey, CoffreProcess.SecretKey);
        using (var s3 = SdkClient.Connect(gateway)) await s3.PutBucketAsync(Bucket);
        await Warmup.RunAsync(gateway, Bucket, opts.WarmupSeconds);

        Path[] paths =
        [
            new($"client → {name}", direct, [backendPid], [backendPid]),
            new($"client → nginx → {name}", direct with { Url = nginx.Endpoint }, [nginx.ProcessId, backendPid], [nginx.ProcessId]),
            new($"rclone crypt → {name}", null, [backendPid], [backendPid]),
            new($"client → Coffre → {name}", gateway, [coffre.ProcessId, backendPid], [coffre.ProcessId]),
        ];
        var gib = new FileInfo(file).Length / (1024.0 * 1024 * 1024);
        var results = new Dictionary<(string Client, string Path, string Op), Samples>();
        for (var round = 1; round <= opts.Rounds; round++)
        {
            Progress($"{name}: round {round} of {opts.Rounds}");
            foreach (var client in clients)
                foreach (var path in paths)
                {
                    if (path.Endpoint is null && client is not RcloneClient) continue;
                    var key = $"{client.Name}-{Array.IndexOf(paths, path)}.bin";
                    var at = path.Endpoint;
                    var rclone = client as RcloneClient;
                    var put = await Meter.MeasureAsync(path.ServerPids, path.HopPids, gib,
                        () => at is null ? rclone!.CryptPutAsync(direct, Bucket, key, file) : client.PutAsync(at, Bucket, key, file));
                    var get = await Meter.MeasureAsync(path.ServerPids, path.HopPids, gib,
                        () => at is null ? rclone!.CryptGetAsync(direct, Bucket, key) : client.GetAsync(at, Bucket, key));
                    Record(results, (client.Name, path.Label, "PUT"), put);
                    Record(results, (client.Name, path.Label, "GET"), get);
                }
        }

        Say($"### {opts.SizeMiB} MiB through {name}: {opts.Rounds} rounds, median (min–max); load average {ServerCpu.LoadAverage()} at the end");
        Say();
        Say("Server CPU: the path's server processes (backend, plus nginx or Coffre), s per GiB; machine CPU: every process, the client's included. Peak RSS: the hop (nginx's processes or Coffre), or the backend on the direct paths.");
        Say();
        Say("| client | path | PUT MiB/s | PUT server CPU s/GiB | PUT machine CPU s/GiB | GET MiB/s | GET server CPU s/GiB | GET machine CPU s/GiB | peak RSS MiB (PUT / GET) |");
        Say("|---|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var client in clients)
            foreach (var path in paths)
            {
                if (!results.TryGetValue((client.Name, path.Label, "PUT"), out var put)) continue;
                var get = results[(client.Name, path.Label, "GET")];
                Say($"| {client.Name} | {path.Label} | {put.Rate(1024)} | {put.CpuPerUnit()} | {put.MachineCpuPerUnit()} | " +
                    $"{get.Rate(1024)} | {get.CpuPerUnit()} | {get.MachineCpuPerUnit()} | {put.PeakRss()} / {get.PeakRss()} |");
            }
        Say();
        Say("Goal 2 (Coffre ≥ 1.0× the nginx proxy and ≥ 1.0× rclone crypt, PUT and GET; medians of throughput):");
        Say();
        foreach (var client in clients)
            foreach (var op in new[] { "PUT", "GET" })
            {
                var ours = results[(client.Name, paths[3].Label, op)].MedianRate;
                var proxy = results[(client.Name, paths[1].Label, op)].MedianRate;
                var line = $"- {client.Name} {op}: {ours / proxy:F2}× nginx";
                if (results.TryGetValue((client.Name, paths[2].Label, op), out var crypt)) line += $", {ours / crypt.MedianRate:F2}× rclone crypt";
                Say(line);
            }
        Say();
        if (opts.Runs("small")) await SmallObjects.RunAsync($"Coffre → {name}", gateway, coffre.ProcessId, opts);
    }

    internal static void Record(Dictionary<(string, string, string), Samples> results, (string, string, string) key, Sample s)
    {
        if (!results.TryGetValue(key, out var samples)) results[key] = samples = new Samples();
        samples.Add(s);
    }
}
