using Amazon.S3;
using Amazon.S3.Model;
using Coffre.Server.Observability;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// Request logging: ASP.NET's two Information lines per request are off by default, and the optional access log
/// (Coffre:AccessLog) writes one line per request with what an operator needs and nothing secret.
/// </summary>
public sealed class AccessLogTests
{
    [Fact]
    public async Task By_default_requests_are_not_logged_line_by_line()
    {
        var logs = new MemoryLogs();
        await using var gateway = await GatewayServer.StartAsync(logs: logs);
        using var s3 = gateway.CreateClient();
        await s3.PutBucketAsync("quiet");
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "quiet", Key = "o", ContentBody = "hello" });

        Assert.DoesNotContain(logs.Entries, e => e.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) && e.Level < LogLevel.Warning);
        Assert.DoesNotContain(logs.Entries, e => e.Category == AccessLog.Category);
    }

    [Fact]
    public async Task The_access_log_has_one_line_per_request_without_secrets()
    {
        var logs = new MemoryLogs();
        await using var gateway = await GatewayServer.StartAsync(configure: o => o.AccessLog = true, logs: logs);
        using var s3 = gateway.CreateClient();
        await s3.PutBucketAsync("logged");
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "logged", Key = "report.pdf", ContentBody = "twelve bytes" });
        var url = s3.GetPreSignedURL(new GetPreSignedUrlRequest
        {
            BucketName = "logged", Key = "report.pdf", Verb = HttpVerb.GET, Expires = DateTime.UtcNow.AddMinutes(5),
            Protocol = Protocol.HTTP,
        });
        using var http = new HttpClient();
        using (var presigned = await http.GetAsync(url)) Assert.Equal(System.Net.HttpStatusCode.OK, presigned.StatusCode);
        using (var refused = await http.GetAsync($"{gateway.Endpoint}/logged/report.pdf")) Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.StatusCode);

        var lines = logs.Entries.Where(e => e.Category == AccessLog.Category).Select(e => e.Message).ToList();
        Assert.Equal(4, lines.Count);
        Assert.All(lines, l => Assert.DoesNotContain(GatewayServer.SecretKey, l));
        var put = Assert.Single(lines, l => l.StartsWith("PUT /logged/report.pdf ", StringComparison.Ordinal));
        Assert.Matches(@" 200 in=\d{2,} out=0 ", put); // bytes on the wire: the SDK's aws-chunked framing included
        Assert.Contains($"key={GatewayServer.AccessKey} ", put);
        Assert.Matches(@" id=[0-9A-F]{16} ", put);
        var get = Assert.Single(lines, l => l.StartsWith("GET /logged/report.pdf X-Amz-", StringComparison.Ordinal));
        Assert.Contains(" 200 in=0 out=12 ", get);
        Assert.Contains($"key={GatewayServer.AccessKey} ", get);
        var signature = new Uri(url).Query.Split('&').Single(p => p.Contains("X-Amz-Signature=", StringComparison.Ordinal)).Split('=')[1];
        Assert.All(lines, l => Assert.DoesNotContain(signature, l));
        var anonymous = Assert.Single(lines, l => l.StartsWith("GET /logged/report.pdf - 403 ", StringComparison.Ordinal));
        Assert.Contains("key=- ", anonymous);
    }
}
