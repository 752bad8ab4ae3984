using System.Diagnostics;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.Kms.Keys;
using Coffre.Server.Auth;
using Coffre.Server.Hosting;

namespace Coffre.Bench.Lifecycle;

/// <summary>
/// The cost of auditing as S3 clients see it: a real Coffre server in this process (Kestrel on loopback,
/// SigV4, S3 face, local-disk backend), driven by AWSSDK.S3 clients doing PUT then GET of 4 KiB objects.
/// Audited: the server as `coffre serve` composes it. Unaudited: the same server with
/// <see cref="UnauditedDataKeysForBenchmark"/> as its data-key service. Client and server share the machine's
/// cores, as they do in the gateway benchmark.
/// </summary>
public static class GatewayAuditBench
{
    private const string AccessKey = "AKIACOFFREBENCH00002";
    private const string Secret = "coffre-bench-secret-00000000000000002";

    public static async Task<(double PairsPerSecond, double CpuMicrosecondsPerPair)> RunAsync(bool withAudit, int concurrency, int warmUpSeconds, int seconds, bool auditNormal = false)
    {
        var dir = Scratch.NewDirectory("coffre-bench-gateway-audit-");
        using var deployment = await Deployment.InitializeAsync(new DeploymentLocation(dir), "bench passphrase", KmsOptions.InsecureForTests);
        var keys = deployment.Keys;
        keys.CreateKey("default", null, KeyManager.SystemPrincipal);
        var options = new CoffreServerOptions
        {
            Listen = "127.0.0.1:0",
            AccessKeys = [AccessKeyOptions.WithAllGrants(AccessKey, Secret)],
            MaintenanceInterval = TimeSpan.FromHours(1),
            AuditSynchronous = auditNormal ? "NORMAL" : "FULL",
        };
        var (server, endpoint) = await CoffreServer.StartInProcessAsync(options, deployment, withAudit ? null : new UnauditedDataKeysForBenchmark());
        await using var app = server;
        using var s3 = new AmazonS3Client(new BasicAWSCredentials(AccessKey, Secret), new AmazonS3Config
        {
            ServiceURL = endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1", UseHttp = true, MaxErrorRetry = 0,
        });
        await s3.PutBucketAsync("bench");
        var body = new byte[4096];
        Random.Shared.NextBytes(body);
        long pairs = 0;
        var measuring = false;
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var key = $"w{w}/{n}";
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = "bench", Key = key, InputStream = new MemoryStream(body), UseChunkEncoding = false });
                using (var get = await s3.GetObjectAsync("bench", key))
                    await get.ResponseStream.CopyToAsync(Stream.Null);
                if (Volatile.Read(ref measuring)) Interlocked.Increment(ref pairs);
            }
        })).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(warmUpSeconds));
        Volatile.Write(ref measuring, true);
        var sw = Stopwatch.StartNew();
        var cpu = SystemCpu.BusyTime();
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        var counted = Interlocked.Read(ref pairs);
        var elapsed = sw.Elapsed.TotalSeconds;
        cpu = SystemCpu.BusyTime() - cpu;
        stop.Cancel();
        await Task.WhenAll(workers);
        await app.StopAsync();
        return (counted / elapsed, cpu.TotalMicroseconds / counted);
    }
}
