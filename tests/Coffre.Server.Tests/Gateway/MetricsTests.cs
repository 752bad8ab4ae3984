using System.Globalization;
using Amazon.S3.Model;
using Xunit;

namespace Coffre.Server.Tests.Gateway;

/// <summary>/metrics: the audit's volume and group commits, for operators who watch what auditing costs.</summary>
public sealed class MetricsTests : IAsyncLifetime
{
    private GatewayServer _gateway = null!;

    public async Task InitializeAsync() => _gateway = await GatewayServer.StartAsync();
    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task A_put_and_a_get_add_three_audit_records_in_one_to_three_commits()
    {
        using var http = new HttpClient { BaseAddress = new Uri(_gateway.Endpoint) };
        using var s3 = _gateway.CreateClient();
        await s3.PutBucketAsync("metrics-bucket");
        var before = Parse(await http.GetStringAsync("/metrics"));

        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "metrics-bucket", Key = "o", ContentBody = "hello" });
        using (var got = await s3.GetObjectAsync("metrics-bucket", "o"))
            await got.ResponseStream.CopyToAsync(Stream.Null);
        var text = await http.GetStringAsync("/metrics");
        var after = Parse(text);

        Assert.Contains("# TYPE coffre_audit_records_total counter\n", text);
        Assert.Contains("# TYPE coffre_audit_commits_total counter\n", text);
        Assert.Equal(3, after["coffre_audit_records_total"] - before["coffre_audit_records_total"]); // GenerateDataKey (object, manifest), UnwrapDataKey
        Assert.InRange(after["coffre_audit_commits_total"] - before["coffre_audit_commits_total"], 1, 3);
        Assert.Equal(_gateway.Keys.AuditCommitStatistics.Records, after["coffre_audit_records_total"]);
    }

    private static Dictionary<string, double> Parse(string metrics) =>
        metrics.Split('\n')
            .Where(l => l.StartsWith("coffre_audit_", StringComparison.Ordinal))
            .Select(l => l.Split(' '))
            .ToDictionary(f => f[0], f => double.Parse(f[1], CultureInfo.InvariantCulture));
}
