using Coffre.Server.Observability;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// /metrics is unauthenticated, and so are the requests it counts: nothing a client sends may become label text
/// (an injected line) or a new series (unbounded growth). Labels come from the server's closed sets.
/// </summary>
public sealed class MetricsLabelTests : IAsyncLifetime
{
    private GatewayServer _gateway = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _gateway = await GatewayServer.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(_gateway.Endpoint) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _gateway.DisposeAsync();
    }

    private Task<RawHttp.Response> Unsigned(string target) =>
        RawHttp.SendAsync(_gateway, "GET", target, [("Host", new Uri(_gateway.Endpoint).Authority)], []);

    private static string Presigned(string service) =>
        $"/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a/20261129/r/{service}/aws4_request&X-Amz-Date=20261129T110000Z&X-Amz-Expires=100&X-Amz-SignedHeaders=host&X-Amz-Signature=00";

    private async Task<string[]> Series() =>
        (await _http.GetStringAsync("/metrics")).Split('\n').Where(l => l.StartsWith("coffre_request", StringComparison.Ordinal))
            .Select(l => l[..l.LastIndexOf(' ')]).ToArray();

    [Fact]
    public async Task An_unsigned_credential_scope_cannot_inject_a_metric_line()
    {
        // The reproduction of the finding, byte for byte.
        var r = await Unsigned(Presigned("x%22%7D%201%0Afake_metric%20999%0A%23"));
        Assert.Equal(400, r.Status);
        var text = await _http.GetStringAsync("/metrics");
        Assert.DoesNotContain("fake_metric", text);
        Assert.Contains("coffre_requests_total{face=\"other\",operation=\"Authenticate\",code=\"AuthorizationQueryParametersError\"} 1\n", text);
        Assert.All(text.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.Matches(@"^(# (HELP|TYPE) \w+ .*|\w+(\{[^{}\n]*\})? \S+)$", line));
    }

    [Fact]
    public async Task Many_distinct_bogus_requests_add_no_series()
    {
        async Task Round(int seed)
        {
            for (var i = 0; i < 20; i++)
            {
                await Unsigned(Presigned($"svc{seed}-{i}"));
                await Unsigned($"/bucket-{seed}-{i}/key?{i}");
                using var request = new HttpRequestMessage(HttpMethod.Post, "/");
                request.Headers.TryAddWithoutValidation("X-Amz-Target", $"TrentService.Op{seed}x{i}");
                request.Headers.TryAddWithoutValidation("Authorization",
                    $"AWS4-HMAC-SHA256 Credential=AKIACOFFRETEST000001/20261129/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00{seed}{i}");
                request.Content = new ByteArrayContent("{}"u8.ToArray());
                (await _http.SendAsync(request)).Dispose();
            }
        }
        await Round(0);
        var first = await Series();
        await Round(1);
        await Round(2);
        Assert.Equal(first, await Series());
    }

    [Fact]
    public void Label_values_are_escaped_in_the_text_format()
    {
        var metrics = new Metrics();
        metrics.Declare(MetricFace.S3, ["a\"b\nc\\d"], ["OK"]);
        metrics.Request(MetricFace.S3, "a\"b\nc\\d", "OK", TimeSpan.Zero);
        metrics.Request(MetricFace.S3, "undeclared\n", "undeclared\"", TimeSpan.Zero);
        metrics.Request(MetricFace.S3, "undeclared", "204", TimeSpan.Zero);
        var text = metrics.Render();
        Assert.Contains("coffre_requests_total{face=\"s3\",operation=\"a\\\"b\\nc\\\\d\",code=\"OK\"} 1\n", text);
        Assert.Contains("coffre_requests_total{face=\"s3\",operation=\"other\",code=\"other\"} 1\n", text);
        Assert.Contains("coffre_requests_total{face=\"s3\",operation=\"other\",code=\"2xx\"} 1\n", text);
        Assert.DoesNotContain("undeclared", text);
    }
}
