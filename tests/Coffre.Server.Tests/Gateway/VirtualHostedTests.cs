using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// Coffre:Domains: virtual-hosted-style addressing (bucket.s3.coffre.test) with AWSSDK.S3 on its default addressing
/// (ForcePathStyle=false), raw SigV4 requests, path style beside it, and the configuration check. bucket.s3.coffre.test
/// reaches loopback through the HttpClient's ConnectCallback: no DNS, no root.
/// </summary>
public sealed class VirtualHostedTests
{
    private const string Domain = "s3.coffre.test";

    /// <summary>Connects every host name to the gateway's loopback port.</summary>
    private sealed class LoopbackHttpClientFactory(int port) : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig) => new(new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(IPAddress.Loopback, port, ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
        });
    }

    [Fact]
    public async Task Awssdk_addresses_buckets_by_host_name()
    {
        await using var gateway = await GatewayServer.StartAsync(configure: o => o.Domains = [Domain]);
        var port = new Uri(gateway.Endpoint).Port;
        var urls = new List<string>();
        using var s3 = new AmazonS3Client(new BasicAWSCredentials(GatewayServer.AccessKey, GatewayServer.SecretKey), new AmazonS3Config
        {
            ServiceURL = $"http://{Domain}:{port}",
            ForcePathStyle = false,
            AuthenticationRegion = "us-east-1",
            UseHttp = true,
            MaxErrorRetry = 0,
            HttpClientFactory = new LoopbackHttpClientFactory(port),
        });
        s3.BeforeRequestEvent += (_, e) => { if (e is WebServiceRequestEventArgs w) urls.Add(w.Endpoint.Host); };

        await s3.PutBucketAsync("vh-sdk");
        var body = new byte[300_000];
        Random.Shared.NextBytes(body);
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "vh-sdk", Key = "dir/a b.bin", InputStream = new MemoryStream(body) });
        using (var got = await s3.GetObjectAsync("vh-sdk", "dir/a b.bin"))
        {
            var copy = new MemoryStream();
            await got.ResponseStream.CopyToAsync(copy);
            Assert.Equal(body, copy.ToArray());
        }
        var list = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "vh-sdk", Prefix = "dir/" });
        Assert.Equal(["dir/a b.bin"], list.S3Objects.Select(o => o.Key));
        Assert.Contains("vh-sdk." + Domain, urls);

        // Path style keeps working under the domain itself and under the listener's own address.
        using var path = SdkTestSupport.Client(gateway);
        using (var got = await path.GetObjectAsync("vh-sdk", "dir/a b.bin")) Assert.Equal(body.Length, got.ContentLength);
        var raw = await RawHttp.SendSignedAsync(gateway, "GET", "/vh-sdk/dir/a%20b.bin", host: $"{Domain}:{port}");
        Assert.Equal(200, raw.Status);

        // A presigned URL in virtual-hosted style: the signature covers that Host and the path without the bucket.
        var url = await s3.GetPreSignedURLAsync(new GetPreSignedUrlRequest { BucketName = "vh-sdk", Key = "dir/a b.bin", Expires = DateTime.UtcNow.AddMinutes(5), Protocol = Protocol.HTTP });
        Assert.StartsWith($"http://vh-sdk.{Domain}:{port}/dir/", url);
        using var http = new LoopbackHttpClientFactory(port).CreateHttpClient(null!);
        Assert.Equal(body, await http.GetByteArrayAsync(url));

        // The Host's bucket, not the path's first segment: /vh-sdk/dir/... under the bucket's host is another key.
        var wrong = await RawHttp.SendSignedAsync(gateway, "GET", "/vh-sdk/dir/a%20b.bin", host: $"vh-sdk.{Domain}:{port}");
        Assert.Equal(404, wrong.Status);
        Assert.Equal("NoSuchKey", RawHttp.S3Code(wrong));
        var missing = await RawHttp.SendSignedAsync(gateway, "GET", "/k", host: $"no-such-bucket.{Domain}:{port}");
        Assert.Equal("NoSuchBucket", RawHttp.S3Code(missing));
    }

    [Fact]
    public async Task Domains_pass_pinned_host_names()
    {
        await using var gateway = await GatewayServer.StartAsync(configure: o => { o.HostNames = ["kms.coffre.test"]; o.Domains = [Domain]; });
        var port = new Uri(gateway.Endpoint).Port;
        await RawHttp.SendSignedAsync(gateway, "PUT", "/pinned", host: $"{Domain}:{port}");
        Assert.Equal(200, (await RawHttp.SendSignedAsync(gateway, "GET", "/", host: $"pinned.{Domain}:{port}")).Status);
        Assert.Equal(200, (await RawHttp.SendSignedAsync(gateway, "GET", "/pinned", host: $"{Domain}:{port}")).Status);
        var other = await RawHttp.SendSignedAsync(gateway, "GET", "/", host: $"pinned.elsewhere.test:{port}");
        Assert.Equal(400, other.Status);
        Assert.Contains("Coffre:HostNames", other.Body);
    }

    [Fact]
    public async Task Every_domain_that_is_not_one_is_listed_at_start()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            GatewayServer.StartAsync(configure: o => o.Domains = ["s3.example.org", "http://s3.example.org/", "*.s3.example.org", "10.0.0.1", ""]));
        Assert.DoesNotContain("Coffre:Domains:0", e.Message);
        foreach (var i in new[] { 1, 2, 3, 4 }) Assert.Contains($"Coffre:Domains:{i}", e.Message);
    }
}
