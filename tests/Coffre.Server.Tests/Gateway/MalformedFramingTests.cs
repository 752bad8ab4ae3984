using System.Net;
using System.Text;
using Amazon.S3;
using Microsoft.Extensions.Logging;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// Broken HTTP framing, sent on raw TCP through a real gateway: a bad chunk size, a body shorter than its Content-Length,
/// a client that disconnects mid-body. The client's mistake is answered 400 (or, for a disconnect, nothing), logged
/// without a stack trace, counted by its real code, and stores nothing.
/// </summary>
public sealed class MalformedFramingTests(MalformedFramingTests.Fixture fixture) : IClassFixture<MalformedFramingTests.Fixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    public sealed class Fixture : IAsyncLifetime
    {
        public MemoryLogs Logs { get; } = new();
        public GatewayServer Gateway { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Gateway = await GatewayServer.StartAsync(logs: Logs);
            using var s3 = Gateway.CreateClient();
            await s3.PutBucketAsync("framing");
        }

        public async Task DisposeAsync() => await Gateway.DisposeAsync();
    }

    private GatewayServer Gateway => fixture.Gateway;

    private async Task AssertNothingStoredAsync(string key)
    {
        using var s3 = Gateway.CreateClient();
        var e = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.GetObjectMetadataAsync("framing", key));
        Assert.Equal(HttpStatusCode.NotFound, e.StatusCode);
    }

    private void AssertNoStackTraceLogged()
    {
        var bad = fixture.Logs.Entries.Where(e => e.Exception is not null || e.Level >= LogLevel.Error).ToList();
        Assert.True(bad.Count == 0, string.Join("\n", bad.Select(e => $"{e.Level} {e.Category}: {e.Message}\n{e.Exception}")));
    }

    private async Task<string> MetricsAsync()
    {
        using var http = new HttpClient();
        return await http.GetStringAsync(Gateway.Endpoint + "/metrics");
    }

    [Theory]
    [InlineData("kms", "/", "ValidationException")]
    [InlineData("coffre", "/_coffre/admin/access-keys", "IncompleteBody")]
    public async Task A_bad_chunk_size_in_a_body_read_before_authentication_is_400(string service, string path, string code)
    {
        // KMS and admin bodies are read whole, to be hashed, before the signature is checked.
        var date = DateTime.UtcNow.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture);
        var head = Encoding.ASCII.GetBytes(
            $"POST {path} HTTP/1.1\r\nHost: {new Uri(Gateway.Endpoint).Authority}\r\nX-Amz-Target: TrentService.Decrypt\r\n" +
            "Content-Type: application/x-amz-json-1.1\r\nTransfer-Encoding: chunked\r\n" +
            $"Authorization: AWS4-HMAC-SHA256 Credential={GatewayServer.AccessKey}/{date}/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=00\r\n\r\n");
        var response = await RawHttp.ExchangeAsync(Gateway, [head, "zz\r\n{}\r\n0\r\n\r\n"u8.ToArray()], shutdownSend: false, Wait);
        Assert.NotNull(response);
        Assert.Equal(400, response.Status);
        Assert.Contains(code, response.Body, StringComparison.Ordinal);
        AssertNoStackTraceLogged();
    }

    [Fact]
    public async Task A_bad_chunk_size_is_400()
    {
        var head = RawHttp.Head(Gateway, "PUT", "/framing/bad-chunk", ("Transfer-Encoding", "chunked"));
        var response = await RawHttp.ExchangeAsync(Gateway, [head, "zz\r\nabc\r\n0\r\n\r\n"u8.ToArray()], shutdownSend: false, Wait);
        Assert.NotNull(response);
        Assert.Equal(400, response.Status);
        Assert.True(response.Has("IncompleteBody"), response.Body);
        await AssertNothingStoredAsync("bad-chunk");
        AssertNoStackTraceLogged();
        Assert.Contains("operation=\"PutObject\",code=\"IncompleteBody\"", await MetricsAsync());
    }

    [Fact]
    public async Task A_body_shorter_than_its_Content_Length_is_400_when_the_server_stops_waiting()
    {
        // Kestrel ends a body that stops arriving (below 240 bytes/s after a 5 s grace period); a client that closes
        // its side instead is a disconnect (below).
        var head = RawHttp.Head(Gateway, "PUT", "/framing/short", ("Content-Length", "1000"));
        var response = await RawHttp.ExchangeAsync(Gateway, [head, Encoding.ASCII.GetBytes(new string('x', 10))], shutdownSend: false, Wait);
        Assert.NotNull(response);
        Assert.Equal(400, response.Status);
        Assert.True(response.Has("RequestTimeout"), response.Body);
        await AssertNothingStoredAsync("short");
        AssertNoStackTraceLogged();
    }

    [Fact]
    public async Task A_client_that_disconnects_mid_body_stores_nothing()
    {
        // Kestrel takes a half-close as the end of the connection: no response can follow, there is nobody to read it.
        var response = await RawHttp.ExchangeAsync(Gateway, [RawHttp.Head(Gateway, "PUT", "/framing/gone", ("Content-Length", "100000")), new byte[5000]],
            shutdownSend: true, Wait);
        Assert.Null(response);
        // The disconnect is seen when the server next reads; wait for that request to be counted.
        for (var i = 0; i < 100 && !(await MetricsAsync()).Contains("code=\"ClientAborted\""); i++) await Task.Delay(100);
        Assert.Contains("operation=\"PutObject\",code=\"ClientAborted\"", await MetricsAsync());
        await AssertNothingStoredAsync("gone");
        AssertNoStackTraceLogged();
    }
}
