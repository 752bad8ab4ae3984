using System.Net;
using System.Net.Sockets;
using System.Text;
using Amazon.S3;
using Coffre.Server.Tests.Signing;
using Coffre.TestSupport;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// Memory bounded by configuration, whatever clients do (issue 20): uploads to an S3 backend hold at most
/// <c>Backend:S3:PartBuffers</c> part buffers; an upload that finds none free within the backend's RequestTimeout is
/// refused with 503 SlowDown (which every S3 client retries with backoff), stores nothing, and the held buffer serves
/// the next upload once its body arrives.
/// </summary>
public sealed class PartBufferSlowDownTests(PartBufferSlowDownTests.MotoFixture moto) : IClassFixture<PartBufferSlowDownTests.MotoFixture>
{
    public sealed class MotoFixture : IAsyncLifetime
    {
        public MotoServer Server { get; } = new();
        public Task InitializeAsync() => Server.StartAsync();
        public Task DisposeAsync() => Server.DisposeAsync();
    }

    private const int Size = 2 * 1024 * 1024; // above the 1 MiB a body may have without a part buffer

    [Fact]
    public async Task An_upload_beyond_the_part_buffers_is_refused_with_SlowDown_and_stores_nothing()
    {
        await using var gateway = await GatewayServer.StartAsync(moto.Server, o =>
        {
            o.Backend.S3!.PartBuffers = 1;
            // How long an upload waits for a part buffer before the refusal (generous: moto answers slowly on a loaded host).
            o.Backend.S3.RequestTimeout = TimeSpan.FromSeconds(15);
        });
        using var s3 = NoRetryClient(gateway);
        await s3.PutBucketAsync("busy");
        var first = Pattern(Size, seed: 1);
        var second = Pattern(Size, seed: 2);

        // The first upload sends half its body and stalls: it holds the only part buffer while it waits for the rest.
        using var stalled = new TcpClient();
        await stalled.ConnectAsync(IPAddress.Loopback, new Uri(gateway.Endpoint).Port);
        var stream = stalled.GetStream();
        await stream.WriteAsync(RawHttp.Head(gateway, "PUT", "/busy/first", ("Content-Length", Size.ToString()), ("Connection", "close")));
        await stream.WriteAsync(first.AsMemory(0, Size / 2));

        // Until the stalled upload has taken the buffer, another may still get it (and then succeeds): poll for the refusal.
        AmazonS3Exception? refused = null;
        for (var attempt = 0; attempt < 20 && refused is null; attempt++)
        {
            try
            {
                await s3.PutBytesAsync("busy", "second", second);
                await s3.DeleteObjectAsync("busy", "second");
            }
            catch (AmazonS3Exception e)
            {
                refused = e;
            }
        }
        Assert.NotNull(refused);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("SlowDown", refused.ErrorCode);
        Assert.Contains("PartBuffers", refused.Message);
        Assert.Equal(HttpStatusCode.NotFound, (await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.GetObjectMetadataAsync("busy", "second"))).StatusCode);

        // The rest of the stalled body arrives: that upload completes, and its buffer serves the next one.
        await stream.WriteAsync(first.AsMemory(Size / 2));
        var answer = Encoding.UTF8.GetString(await TestSigner.ReadAllAsync(stream));
        Assert.StartsWith("HTTP/1.1 200", answer);
        await s3.PutBytesAsync("busy", "second", second);
        Assert.Equal(first, await s3.GetBytesAsync("busy", "first"));
        Assert.Equal(second, await s3.GetBytesAsync("busy", "second"));
    }
}
