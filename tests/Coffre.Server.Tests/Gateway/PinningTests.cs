using System.Net;
using Amazon.S3;
using Coffre.Server.Signing;

namespace Coffre.Server.Tests.Gateway;

/// <summary>Coffre:PinRegion and Coffre:HostNames: a deployment answers only for its region and its host names.</summary>
public sealed class PinningTests
{
    [Fact]
    public async Task A_pinned_region_refuses_signatures_for_another_region_as_aws_does()
    {
        await using var gateway = await GatewayServer.StartAsync(configure: o => { o.Region = "eu-west-3"; o.PinRegion = true; });
        using var wrong = SdkTestSupport.Client(gateway, c => { c.AuthenticationRegion = "us-east-1"; c.MaxErrorRetry = 0; });
        var e = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => wrong.PutBucketAsync("pinned"));
        Assert.Equal(HttpStatusCode.BadRequest, e.StatusCode);
        Assert.Equal("AuthorizationHeaderMalformed", e.ErrorCode);
        Assert.Contains("expecting 'eu-west-3'", e.Message);

        var raw = await RawHttp.SendSignedAsync(gateway, "GET", "/", region: "us-east-1");
        Assert.Contains("<Region>eu-west-3</Region>", raw.Body);

        using var right = SdkTestSupport.Client(gateway, c => c.AuthenticationRegion = "eu-west-3");
        await right.PutBucketAsync("pinned");

        var body = "{}"u8.ToArray();
        Assert.Equal("InvalidSignatureException", await KmsType(gateway, body, "us-east-1"));
        Assert.Equal("", await KmsType(gateway, body, "eu-west-3"));
    }

    private static async Task<string> KmsType(GatewayServer gateway, byte[] body, string region, string? host = null)
    {
        host ??= new Uri(gateway.Endpoint).Authority;
        var headers = SigV4ClientSigner.KmsHeaders(host, "ListKeys", body, GatewayServer.AccessKey, GatewayServer.SecretKey, region);
        var r = await RawHttp.SendAsync(gateway, "POST", "/",
            [("Host", host), ("X-Amz-Date", headers["x-amz-date"]), ("X-Amz-Target", headers["x-amz-target"]),
             ("Content-Type", headers["content-type"]), ("Authorization", headers["Authorization"])], body);
        var json = System.Text.Json.JsonDocument.Parse(r.Body).RootElement;
        return json.TryGetProperty("__type", out var t) ? t.GetString()! : "";
    }

    [Fact]
    public async Task Pinned_host_names_refuse_any_other_host_with_a_400()
    {
        await using var gateway = await GatewayServer.StartAsync(configure: o => o.HostNames = ["s3.coffre.test", "KMS.coffre.test"]);
        var port = new Uri(gateway.Endpoint).Port;

        var other = await RawHttp.SendSignedAsync(gateway, "GET", "/");
        Assert.Equal(400, other.Status);
        Assert.Equal("InvalidRequest", RawHttp.S3Code(other));
        Assert.Contains("Coffre:HostNames", other.Body);

        var named = await RawHttp.SendSignedAsync(gateway, "GET", "/", host: $"s3.coffre.test:{port}");
        Assert.Equal(200, named.Status);

        Assert.Equal("ValidationException", await KmsType(gateway, "{}"u8.ToArray(), "us-east-1"));
        Assert.Equal("", await KmsType(gateway, "{}"u8.ToArray(), "us-east-1", $"kms.coffre.test:{port}"));
    }

    [Theory]
    [InlineData("http://s3.coffre.test/")]
    [InlineData("s3.coffre.test/path")]
    [InlineData("")]
    public async Task A_host_name_that_is_not_one_is_refused_at_start(string entry)
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => GatewayServer.StartAsync(configure: o => o.HostNames = [entry]));
        Assert.Contains("Coffre:HostNames", e.Message);
    }

    [Fact]
    public async Task A_region_that_is_not_one_is_refused_at_start()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => GatewayServer.StartAsync(configure: o => { o.Region = "eu west\n3"; o.PinRegion = true; }));
        Assert.Contains("Coffre:Region", e.Message);
    }
}
