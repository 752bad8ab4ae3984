using Coffre.TestSupport;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Amazon.S3;
using Coffre.Server.Hosting;
using Coffre.Storage;
using Microsoft.Extensions.Logging;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// A backend outage (nothing listening, a server that accepts and never answers) is 503 ServiceUnavailable, retryable,
/// within the backend's deadline; ciphertext missing at the backend is data gone: a non-retryable integrity failure
/// naming the object, counted on /metrics, never 503.
/// </summary>
public sealed class BackendFailureTests
{
    private static void S3Backend(CoffreServerOptions o, int port, TimeSpan requestTimeout) => o.Backend = new BackendOptions
    {
        Type = "s3",
        S3 = new S3BlobStoreOptions
        {
            Endpoint = $"http://127.0.0.1:{port}", Bucket = "unreachable", ForcePathStyle = true, AccessKeyId = "backend", SecretAccessKey = "backend-secret",
            // The per-attempt timeout of the report: with the SDK's retries it held a request 151 s.
            Timeout = TimeSpan.FromSeconds(30), RequestTimeout = requestTimeout,
        },
    };

    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static async Task<string> MetricsAsync(GatewayServer gateway)
    {
        using var http = new HttpClient();
        return await http.GetStringAsync(gateway.Endpoint + "/metrics");
    }

    private static async Task AssertPutIsServiceUnavailableAsync(GatewayServer gateway, TimeSpan bound)
    {
        // The client gives up well before the SDK's retries on 30 s attempts would end.
        using var s3 = Client(gateway, c => { c.MaxErrorRetry = 0; c.Timeout = TimeSpan.FromSeconds(60); });
        await s3.PutBucketAsync("outage");
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.PutBytesAsync("outage", "k", Pattern(1000)));
        Assert.True(clock.Elapsed < bound, $"the outage was answered after {clock.Elapsed}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, e.StatusCode);
        Assert.Equal("ServiceUnavailable", e.ErrorCode);
        Assert.Contains("coffre_backend_unavailable_total 1\n", await MetricsAsync(gateway));
        Assert.Equal(HttpStatusCode.NotFound, (await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.GetObjectMetadataAsync("outage", "k"))).StatusCode);
    }

    [Fact]
    public async Task A_backend_with_nothing_listening_is_503_at_once()
    {
        var logs = new MemoryLogs();
        await using var gateway = await GatewayServer.StartAsync(configure: o => S3Backend(o, ClosedPort(), TimeSpan.FromSeconds(2)), logs: logs);
        await AssertPutIsServiceUnavailableAsync(gateway, TimeSpan.FromSeconds(15));
        // Logged as an outage (a warning), not as an unexpected failure with a stack trace.
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("Storage backend unavailable", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Entries, e => e.Exception is not null || e.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task A_frozen_backend_is_503_within_the_request_deadline()
    {
        await using var frozen = new FrozenTcpServer();
        await using var gateway = await GatewayServer.StartAsync(configure: o => S3Backend(o, frozen.Port, TimeSpan.FromSeconds(2)));
        // Deadline 2 s; the bound is generous (a loaded machine), and far below the SDK's 4 attempts of 30 s.
        await AssertPutIsServiceUnavailableAsync(gateway, TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task Ciphertext_missing_at_the_backend_is_an_integrity_failure_naming_the_object_not_503()
    {
        var logs = new MemoryLogs();
        await using var gateway = await GatewayServer.StartAsync(logs: logs);
        using var s3 = NoRetryClient(gateway);
        await s3.PutBucketAsync("lost");
        await s3.PutBytesAsync("lost", "gone/object", Pattern(5000));
        var files = LocalDiskBlob(gateway, (await PartsAsync(gateway, "lost", "gone/object"))[0].Blob);
        File.Delete(files.MetaPath);
        File.Delete(files.DataPath);

        var e = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.GetBytesAsync("lost", "gone/object"));
        Assert.Equal(HttpStatusCode.InternalServerError, e.StatusCode);
        Assert.Equal("InternalError", e.ErrorCode);
        Assert.Contains("'gone/object' in bucket 'lost'", e.Message);
        Assert.Contains("missing or damaged", e.Message);
        Assert.Contains("coffre_integrity_failures_total 1\n", await MetricsAsync(gateway));
        Assert.Contains("coffre_backend_unavailable_total 0\n", await MetricsAsync(gateway));
        Assert.Contains(logs.Entries, l => l.Level == LogLevel.Error && l.Message.Contains("Integrity failure during GetObject of lost/gone/object", StringComparison.Ordinal));
    }
}
