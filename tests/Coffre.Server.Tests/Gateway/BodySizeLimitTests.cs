using System.Net;
using Amazon.S3;
using Amazon.S3.Model;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// S3's size limit on one PUT or one part applies to the plaintext received, whatever the framing: a body announced
/// too large is refused before it is read, and an HTTP-chunked body (no length) is cut off as soon as it passes the
/// limit, leaving nothing visible. The gateway runs with a 1 MiB limit (Coffre:MaxUploadSize) instead of 5 GiB.
/// </summary>
public sealed class BodySizeLimitTests(BodySizeLimitTests.Fixture fixture) : IClassFixture<BodySizeLimitTests.Fixture>
{
    private const int Limit = 1024 * 1024;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    public sealed class Fixture : IAsyncLifetime
    {
        public GatewayServer Gateway { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Gateway = await GatewayServer.StartAsync(configure: o => o.MaxUploadSize = Limit);
            using var s3 = Gateway.CreateClient();
            await s3.PutBucketAsync("limits");
        }

        public async Task DisposeAsync() => await Gateway.DisposeAsync();
    }

    private GatewayServer Gateway => fixture.Gateway;

    /// <summary>Chunks of 64 KiB adding up to <paramref name="total"/> bytes, without the final zero-length chunk: a body that has not ended.</summary>
    private static IEnumerable<byte[]> OpenChunkedBody(int total)
    {
        for (var sent = 0; sent < total; sent += 64 * 1024)
            yield return RawHttp.Chunk(Pattern(Math.Min(64 * 1024, total - sent), sent));
    }

    private int BackendFiles() => AllFiles(Gateway.BackendDirectory!).Count();

    [Fact]
    public async Task A_chunked_PUT_is_refused_as_soon_as_it_passes_the_limit_and_leaves_nothing()
    {
        var filesBefore = BackendFiles();
        var head = RawHttp.Head(Gateway, "PUT", "/limits/chunked", ("Transfer-Encoding", "chunked"));
        // The body never ends: only a server that stops reading at the limit can answer.
        var response = await RawHttp.ExchangeAsync(Gateway, [head, .. OpenChunkedBody(Limit + 256 * 1024)], shutdownSend: false, Wait);
        Assert.NotNull(response);
        Assert.Equal(400, response.Status);
        Assert.True(response.Has("EntityTooLarge"), response.Body);

        using var s3 = Gateway.CreateClient();
        var missing = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.GetObjectMetadataAsync("limits", "chunked"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(filesBefore, BackendFiles());
    }

    [Fact]
    public async Task A_chunked_UploadPart_is_refused_as_soon_as_it_passes_the_limit()
    {
        using var s3 = Gateway.CreateClient();
        var init = await s3.InitiateMultipartUploadAsync("limits", "parts");
        var head = RawHttp.Head(Gateway, "PUT", $"/limits/parts?partNumber=1&uploadId={init.UploadId}", ("Transfer-Encoding", "chunked"));
        var response = await RawHttp.ExchangeAsync(Gateway, [head, .. OpenChunkedBody(Limit + 256 * 1024)], shutdownSend: false, Wait);
        Assert.NotNull(response);
        Assert.Equal(400, response.Status);
        Assert.True(response.Has("EntityTooLarge"), response.Body);
        Assert.Empty((await s3.ListPartsAsync("limits", "parts", init.UploadId)).Parts ?? []);
    }

    [Fact]
    public async Task A_chunked_PUT_of_exactly_the_limit_is_stored()
    {
        var head = RawHttp.Head(Gateway, "PUT", "/limits/exact", ("Transfer-Encoding", "chunked"));
        var response = await RawHttp.ExchangeAsync(Gateway, [head, .. OpenChunkedBody(Limit), RawHttp.Chunk([])], shutdownSend: false, Wait);
        Assert.NotNull(response);
        Assert.Equal(200, response.Status);
        using var s3 = Gateway.CreateClient();
        var stored = await s3.GetBytesAsync("limits", "exact");
        Assert.Equal(Limit, stored.Length);
        Assert.Equal(OpenChunkedBody(Limit).SelectMany(c => c[(c.AsSpan().IndexOf("\r\n"u8) + 2)..^2]).ToArray(), stored);
    }

    [Fact]
    public async Task A_declared_length_over_the_limit_is_refused_before_the_body_is_read()
    {
        // Content-Length: the headers alone are answered, no body byte is sent.
        var head = RawHttp.Head(Gateway, "PUT", "/limits/declared", ("Content-Length", (Limit + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var response = await RawHttp.ExchangeAsync(Gateway, [head], shutdownSend: false, Wait);
        Assert.NotNull(response);
        Assert.Equal(400, response.Status);
        Assert.True(response.Has("EntityTooLarge"), response.Body);

        // aws-chunked (the SDK's default framing): x-amz-decoded-content-length over the limit.
        using var s3 = NoRetryClient(Gateway);
        var e = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = "limits", Key = "declared", InputStream = new MemoryStream(Pattern(Limit + 1)),
        }));
        Assert.Equal("EntityTooLarge", e.ErrorCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.GetObjectMetadataAsync("limits", "declared"))).StatusCode);
    }
}
