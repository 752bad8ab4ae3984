using System.Net;
using Amazon.S3;
using Coffre.Server.Hosting;
using Coffre.Storage;
using Coffre.Storage.Placement;
using Coffre.TestSupport;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// A gateway with two providers (local disk on premises, moto as a cloud): each bucket's copies follow its policy,
/// a two-copy bucket refuses writes while one provider is down but still serves reads, and /healthz and /metrics show
/// each backend's health.
/// </summary>
public sealed class PlacementGatewayTests
{
    private static async Task<string> GetTextAsync(GatewayServer gateway, string path)
    {
        using var http = new HttpClient();
        return await http.GetStringAsync(gateway.Endpoint + path);
    }

    [Fact]
    public async Task Copies_follow_each_buckets_policy_and_a_provider_outage_refuses_two_copy_writes_but_not_reads()
    {
        using var moto = new MotoServer();
        await moto.CreateBucketAsync("cloud");
        var onpremPath = Directory.CreateTempSubdirectory("coffre-onprem-").FullName;
        await using var gateway = await GatewayServer.StartAsync(configure: o =>
        {
            o.Backends["onprem"] = new BackendOptions
            {
                Type = "local", Path = onpremPath,
                Facts = new FactsOptions { Country = "FR", Operator = "Ministère X", Jurisdiction = "FR" },
            };
            o.Backends["moto"] = new BackendOptions
            {
                Type = "s3", Provider = "scaleway/fr-par",
                S3 = new S3BlobStoreOptions
                {
                    Endpoint = moto.Endpoint, Bucket = "cloud", ForcePathStyle = true, AccessKeyId = moto.AccessKey, SecretAccessKey = moto.SecretKey,
                    Timeout = TimeSpan.FromSeconds(5), RequestTimeout = TimeSpan.FromSeconds(5),
                },
            };
            o.DefaultPlacement = new PlacementPolicy { Backends = ["onprem"] };
            o.Buckets["health"] = new BucketOptions
            {
                Placement = new PlacementPolicy { Backends = ["onprem", "moto"], Copies = 2, DistinctBy = ["Operator"], Countries = ["FR"] },
            };
        });
        // The providers as they are, seen without the gateway.
        var onprem = new LocalDiskBlobStore(onpremPath);
        using var cloud = new S3BlobStore(new S3BlobStoreOptions
        {
            Endpoint = moto.Endpoint, Bucket = "cloud", ForcePathStyle = true, AccessKeyId = moto.AccessKey, SecretAccessKey = moto.SecretKey,
        });
        using var s3 = NoRetryClient(gateway);
        await s3.PutBucketAsync("health");
        await s3.PutBucketAsync("photos");
        var record = Pattern(200_000, 7);
        await s3.PutBytesAsync("health", "patient-1", record);
        await s3.PutBytesAsync("photos", "cat", Pattern(1000, 8));

        var healthBlob = Assert.Single(await PartsAsync(gateway, "health", "patient-1")).Blob;
        var photoBlob = Assert.Single(await PartsAsync(gateway, "photos", "cat")).Blob;
        Assert.NotNull(await onprem.HeadAsync(healthBlob));
        Assert.NotNull(await cloud.HeadAsync(healthBlob));
        Assert.NotNull(await onprem.HeadAsync(photoBlob));
        Assert.Null(await cloud.HeadAsync(photoBlob)); // photos follow DefaultPlacement: on premises only

        Assert.Equal("ok\ndatabase keys reachable\ndatabase catalog reachable\nbackend moto healthy\nbackend onprem healthy\n", await GetTextAsync(gateway, "/healthz"));
        Assert.Contains("coffre_backend_up{backend=\"moto\"} 1\n", await GetTextAsync(gateway, "/metrics"));

        moto.Stop();
        var refused = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.PutBytesAsync("health", "patient-2", Pattern(5000, 9)));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(2, await onprem.ListAsync("objects/").CountAsync(b => !b.Key.Contains('.'))); // the refused write left no copy on premises
        Assert.Equal(record, await s3.GetBytesAsync("health", "patient-1")); // read from the copy on premises
        await s3.PutBytesAsync("photos", "dog", Pattern(1000, 10)); // one copy, on premises: unaffected

        var healthz = await GetTextAsync(gateway, "/healthz");
        Assert.StartsWith("degraded\n", healthz);
        Assert.Contains("backend moto unhealthy\n", healthz);
        var metrics = await GetTextAsync(gateway, "/metrics");
        Assert.Contains("coffre_backend_up{backend=\"moto\"} 0\n", metrics);
        Assert.Contains("coffre_backend_up{backend=\"onprem\"} 1\n", metrics);
        Directory.Delete(onpremPath, recursive: true);
    }
}
