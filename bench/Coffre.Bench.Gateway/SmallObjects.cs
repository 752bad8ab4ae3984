using Amazon.S3.Model;
using static Coffre.Bench.Gateway.Report;

namespace Coffre.Bench.Gateway;

/// <summary>
/// Goal 4 of issue 20: 4 KiB PUTs, then GETs, from <see cref="Options.Concurrency"/> concurrent AWSSDK clients for a fixed
/// time each, with the gateway's CPU per request (its own process only).
/// </summary>
public static class SmallObjects
{
    public static async Task RunAsync(string label, S3Endpoint gateway, int coffrePid, Options opts)
    {
        Progress($"small objects: {label}");
        const string bucket = "small";
        using var s3 = SdkClient.Connect(gateway);
        await s3.PutBucketAsync(bucket);
        var body = new byte[4096];
        Random.Shared.NextBytes(body);
        var phase = TimeSpan.FromSeconds(opts.SmallSeconds);
        Samples puts = new(), gets = new();
        var written = 0;
        for (var round = 1; round <= opts.Rounds; round++)
        {
            puts.Add(await Requests(coffrePid, opts.Concurrency, phase, async w =>
            {
                var i = Interlocked.Increment(ref written);
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = $"o{i}", InputStream = new MemoryStream(body), UseChunkEncoding = false });
            }));
            var rnd = new Random(round);
            gets.Add(await Requests(coffrePid, opts.Concurrency, phase, async w =>
            {
                int n;
                lock (rnd) n = rnd.Next(1, written + 1);
                using var get = await s3.GetObjectAsync(bucket, $"o{n}");
                await get.ResponseStream.CopyToAsync(Stream.Null);
            }));
        }
        Say($"### Small objects, 4 KiB, {opts.Concurrency} clients, {opts.SmallSeconds} s per phase, {opts.Rounds} rounds: {label} (load average {ServerCpu.LoadAverage()})");
        Say();
        Say("| operation | requests/s | Coffre CPU µs per request | peak RSS MiB |");
        Say("|---|---:|---:|---:|");
        Say($"| PUT | {puts.Rate()} | {puts.CpuPerUnit(1e6, "F0")} | {puts.PeakRss()} |");
        Say($"| GET | {gets.Rate()} | {gets.CpuPerUnit(1e6, "F0")} | {gets.PeakRss()} |");
        Say();
    }

    private static async Task<Sample> Requests(int pid, int concurrency, TimeSpan phase, Func<int, Task> request)
    {
        long done = 0;
        var sample = await Meter.MeasureAsync([pid], [pid], 1, async () =>
        {
            var deadline = DateTime.UtcNow + phase;
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async w =>
            {
                while (DateTime.UtcNow < deadline)
                {
                    await request(w);
                    Interlocked.Increment(ref done);
                }
            }));
        });
        return sample with { Amount = done };
    }
}
