using System.Diagnostics;
using System.Net;
using System.Text;
using Amazon.S3.Model;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// Signed DeleteObjects and CompleteMultipartUpload bodies built to cost CPU: deep nesting (which cost time
/// quadratic in the depth, 19 s of a core for 100,000 levels) and floods of elements. Each is refused with
/// MalformedXML by the depth or element limit while the body is parsed, and changes nothing.
/// </summary>
public sealed class XmlBodyLimitTests(XmlBodyLimitTests.Fixture fixture) : IClassFixture<XmlBodyLimitTests.Fixture>
{
    public sealed class Fixture : IAsyncLifetime
    {
        public GatewayServer Gateway { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Gateway = await GatewayServer.StartAsync();
            using var s3 = Gateway.CreateClient();
            await s3.PutBucketAsync("xml");
            await s3.PutBytesAsync("xml", "kept", "still here"u8.ToArray());
        }

        public async Task DisposeAsync() => await Gateway.DisposeAsync();
    }

    private GatewayServer Gateway => fixture.Gateway;

    private static byte[] Nested(string root, int depth) =>
        Encoding.ASCII.GetBytes($"<{root}>{string.Concat(Enumerable.Repeat("<a>", depth))}{string.Concat(Enumerable.Repeat("</a>", depth))}</{root}>");

    private async Task AssertRefusedAsync(string pathAndQuery, byte[] body, string reason)
    {
        var clock = Stopwatch.StartNew();
        using var response = await SendSignedAsync(Gateway, HttpMethod.Post, pathAndQuery, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("<Code>MalformedXML</Code>", text);
        // The limit that stopped the parse, not some later check on the parsed tree.
        Assert.Contains(reason, text);
        // A correctness bound, far above the milliseconds this takes and far below the 19 s it took.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"refusing took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_DeleteObjects_body_nested_100000_levels_deep_is_refused_by_the_depth_limit()
    {
        var body = Nested("Delete", 100_000);
        Assert.True(body.Length > 690_000);
        await AssertRefusedAsync("/xml?delete", body, "levels deep");
        using var s3 = Gateway.CreateClient();
        Assert.Equal("still here"u8.ToArray(), await s3.GetBytesAsync("xml", "kept"));
    }

    [Fact]
    public async Task A_CompleteMultipartUpload_body_nested_100000_levels_deep_is_refused_by_the_depth_limit()
    {
        using var s3 = Gateway.CreateClient();
        var init = await s3.InitiateMultipartUploadAsync("xml", "deep");
        await s3.UploadPartAsync(new UploadPartRequest { BucketName = "xml", Key = "deep", UploadId = init.UploadId, PartNumber = 1, InputStream = new MemoryStream([1, 2, 3]) });
        await AssertRefusedAsync($"/xml/deep?uploadId={init.UploadId}", Nested("CompleteMultipartUpload", 100_000), "levels deep");
        // The upload is untouched: it can still be completed.
        await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
        {
            BucketName = "xml", Key = "deep", UploadId = init.UploadId,
            PartETags = [.. (await s3.ListPartsAsync("xml", "deep", init.UploadId)).Parts.Select(p => new PartETag(p.PartNumber!.Value, p.ETag))],
        });
        Assert.Equal(new byte[] { 1, 2, 3 }, await s3.GetBytesAsync("xml", "deep"));
    }

    [Fact]
    public async Task A_DeleteObjects_body_with_more_elements_than_1000_keys_need_is_refused()
    {
        var body = Encoding.ASCII.GetBytes("<Delete>" + string.Concat(Enumerable.Repeat("<Quiet/>", 7_000)) + "<Object><Key>kept</Key></Object></Delete>");
        await AssertRefusedAsync("/xml?delete", body, "elements");
        using var s3 = Gateway.CreateClient();
        Assert.Equal("still here"u8.ToArray(), await s3.GetBytesAsync("xml", "kept"));
    }

    [Fact]
    public async Task Bodies_within_the_limits_still_work()
    {
        using var s3 = Gateway.CreateClient();
        var keys = Enumerable.Range(0, 1000).Select(i => $"many/{i}").ToList();
        foreach (var k in keys.Take(3)) await s3.PutBytesAsync("xml", k, [7]);
        var deleted = await s3.DeleteObjectsAsync(new DeleteObjectsRequest { BucketName = "xml", Objects = [.. keys.Select(k => new KeyVersion { Key = k })] });
        Assert.Equal(1000, deleted.DeletedObjects.Count);
        Assert.Empty((await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "xml", Prefix = "many/" })).S3Objects ?? []);
    }
}
