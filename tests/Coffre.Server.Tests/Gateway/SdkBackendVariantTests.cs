using Amazon.S3.Model;
using Coffre.TestSupport;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>The core put/get/range/multipart scenario over each backend: local disk, moto and s3rver.</summary>
public sealed class SdkBackendVariantTests
{
    private const int MiB = 1024 * 1024;

    internal static async Task CoreScenarioAsync(GatewayServer gateway)
    {
        using var s3 = gateway.CreateClient();
        await s3.PutBucketAsync("core");
        foreach (var size in new[] { 0, 1, 65_536, 300_001 })
        {
            var body = Pattern(size, size);
            await s3.PutObjectAsync(new PutObjectRequest
            {
                BucketName = "core", Key = $"single/{size}", InputStream = new MemoryStream(body), Metadata = { ["size"] = size.ToString() },
            });
            using var got = await s3.GetObjectAsync("core", $"single/{size}");
            Assert.Equal(body, await ReadAllAsync(got.ResponseStream));
            Assert.Equal(size.ToString(), got.Metadata["size"]);
        }
        var mid = Pattern(300_001, 300_001);
        Assert.Equal(mid[65_530..131_080], await s3.GetBytesAsync("core", "single/300001", "bytes=65530-131079"));
        Assert.Equal(mid[^10..], await s3.GetBytesAsync("core", "single/300001", "bytes=-10"));
        Assert.Equal(mid[299_000..], await s3.GetBytesAsync("core", "single/300001", "bytes=299000-"));

        // Overwrite, then delete.
        await s3.PutBytesAsync("core", "single/1", [42]);
        Assert.Equal([42], await s3.GetBytesAsync("core", "single/1"));
        await s3.DeleteObjectAsync("core", "single/1");
        await Assert.ThrowsAnyAsync<Amazon.S3.AmazonS3Exception>(() => s3.GetObjectAsync("core", "single/1"));

        // Multipart: 5 MiB + 5 MiB + 1 MiB, parts sent out of order.
        var big = Pattern(11 * MiB, 11);
        var init = await s3.InitiateMultipartUploadAsync("core", "multi");
        var etags = new List<PartETag>();
        foreach (var n in new[] { 3, 1, 2 })
        {
            var offset = (n - 1) * 5 * MiB;
            var length = n == 3 ? MiB : 5 * MiB;
            var r = await s3.UploadPartAsync(new UploadPartRequest
            {
                BucketName = "core", Key = "multi", UploadId = init.UploadId, PartNumber = n, InputStream = new MemoryStream(big, offset, length),
            });
            etags.Add(new PartETag(n, r.ETag));
        }
        await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
        {
            BucketName = "core", Key = "multi", UploadId = init.UploadId, PartETags = [.. etags.OrderBy(e => e.PartNumber)],
        });
        Assert.Equal(big, await s3.GetBytesAsync("core", "multi"));
        Assert.Equal(big[(5 * MiB - 1000)..(10 * MiB + 1000)], await s3.GetBytesAsync("core", "multi", $"bytes={5 * MiB - 1000}-{10 * MiB + 999}"));
        Assert.Equal(big[^5000..], await s3.GetBytesAsync("core", "multi", "bytes=-5000"));
        using var part2 = await s3.GetObjectAsync(new GetObjectRequest { BucketName = "core", Key = "multi", PartNumber = 2 });
        Assert.Equal(big[(5 * MiB)..(10 * MiB)], await ReadAllAsync(part2.ResponseStream));
    }

    [Fact]
    public async Task Core_scenario_over_local_disk()
    {
        await using var gateway = await GatewayServer.StartAsync();
        await CoreScenarioAsync(gateway);
    }

    [Fact]
    public async Task Core_scenario_over_moto()
    {
        using var moto = new MotoServer();
        await moto.StartAsync();
        await using var gateway = await GatewayServer.StartAsync(s3Backend: moto);
        await CoreScenarioAsync(gateway);
    }

    [Fact]
    public async Task Core_scenario_over_s3rver()
    {
        using var s3rver = new S3rverServer();
        await s3rver.StartAsync();
        await using var gateway = await GatewayServer.StartAsync(s3Backend: s3rver);
        await CoreScenarioAsync(gateway);
    }
}
