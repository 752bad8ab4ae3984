using System.Collections.Concurrent;
using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Coffre.TestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// A gateway on PostgreSQL (keys, audit trail, catalog) whose database server stops and comes back: /healthz says which
/// database is unreachable with 503, S3 requests fail with 503 ServiceUnavailable (retryable) meanwhile, nothing
/// acknowledged is lost or half-written, and the gateway serves again by itself once the database is back.
/// Each test runs a PostgreSQL server of its own, since it stops it.
/// </summary>
public sealed class DatabaseOutageGatewayTests
{
    [Fact]
    public async Task Healthz_names_the_unreachable_databases_with_503_and_is_ok_again_when_the_database_returns()
    {
        await using var postgres = await PostgresServer.StartAsync();
        await using var gateway = await GatewayServer.StartAsync(database: await postgres.CreateDatabaseAsync());
        using var http = new HttpClient();

        var (status, body) = await HealthzAsync(http, gateway);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ok\ndatabase keys reachable\ndatabase catalog reachable\n", body);

        await postgres.StopAsync();
        (status, body) = await HealthzAsync(http, gateway);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("unavailable\ndatabase keys unreachable\ndatabase catalog unreachable\n", body);

        await postgres.StartAsync();
        await EventuallyAsync(async () => (await HealthzAsync(http, gateway)).Status == HttpStatusCode.OK, "/healthz never came back to 200");
    }

    [Fact]
    public async Task PostgreSQL_stopped_and_restarted_under_load_gives_503_loses_nothing_acknowledged_and_service_resumes()
    {
        await using var postgres = await PostgresServer.StartAsync();
        await using var gateway = await GatewayServer.StartAsync(database: await postgres.CreateDatabaseAsync());
        // No retries in the client: every 503 is seen here (real clients retry them with backoff).
        using var s3 = new AmazonS3Client(new BasicAWSCredentials(GatewayServer.AccessKey, GatewayServer.SecretKey), new AmazonS3Config
        {
            ServiceURL = gateway.Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1", UseHttp = true, MaxErrorRetry = 0,
        });
        await s3.PutBucketAsync("load");

        var acknowledged = new ConcurrentDictionary<string, byte[]>();
        var attempted = new ConcurrentDictionary<string, byte[]>();
        var failures = new ConcurrentBag<(HttpStatusCode Status, string Code)>();
        using var stop = new CancellationTokenSource();
        var next = 0;
        var writers = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var i = Interlocked.Increment(ref next);
                var key = $"object-{i:D6}";
                var body = Content(i);
                attempted[key] = body;
                try
                {
                    await s3.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest { BucketName = "load", Key = key, InputStream = new MemoryStream(body) });
                    acknowledged[key] = body;
                }
                catch (AmazonS3Exception e)
                {
                    failures.Add((e.StatusCode, e.ErrorCode));
                    await Task.Delay(20);
                }
            }
        })).ToList();

        await EventuallyAsync(() => Task.FromResult(acknowledged.Count >= 30), "no PUT succeeded before the outage");
        await postgres.StopAsync(immediate: true); // as a crash: no shutdown checkpoint
        await EventuallyAsync(() => Task.FromResult(failures.Count >= 20), "no PUT failed while PostgreSQL was down");
        var acknowledgedDuringOutage = acknowledged.Count;
        await postgres.StartAsync();
        await EventuallyAsync(() => Task.FromResult(acknowledged.Count >= acknowledgedDuringOutage + 30), "PUTs did not succeed again after PostgreSQL came back");
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        // Every failure a client may retry: 503 ServiceUnavailable, never a 500 or a client error.
        Assert.All(failures, f => Assert.Equal((HttpStatusCode.ServiceUnavailable, "ServiceUnavailable"), f));
        foreach (var (key, body) in acknowledged)
            Assert.Equal(body, await GetAsync(s3, key));
        // A refused PUT left nothing, or (when only its answer was lost) the whole object: never half of one.
        foreach (var key in attempted.Keys.Except(acknowledged.Keys))
        {
            var back = await GetAsync(s3, key);
            Assert.True(back is null || back.SequenceEqual(attempted[key]), $"{key} came back different from what was sent");
        }
        Assert.True(gateway.Keys.VerifyAudit("auditor").Ok);
    }

    private static byte[] Content(int i)
    {
        var bytes = new byte[2000 + i % 3000];
        new Random(i).NextBytes(bytes);
        return bytes;
    }

    private static async Task<byte[]?> GetAsync(AmazonS3Client s3, string key)
    {
        try
        {
            using var response = await s3.GetObjectAsync("load", key);
            using var copy = new MemoryStream();
            await response.ResponseStream.CopyToAsync(copy);
            return copy.ToArray();
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private static async Task<(HttpStatusCode Status, string Body)> HealthzAsync(HttpClient http, GatewayServer gateway)
    {
        using var response = await http.GetAsync($"{gateway.Endpoint}/healthz");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string failure)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(100);
        }
    }
}
