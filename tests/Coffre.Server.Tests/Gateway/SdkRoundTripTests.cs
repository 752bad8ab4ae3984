using System.Security.Cryptography;
using Amazon.S3.Model;

namespace Coffre.Server.Tests.Gateway;

/// <summary>AWSSDK.S3 on its default settings (aws-chunked, CRC32 trailer) against a local-disk gateway.</summary>
public sealed class SdkRoundTripTests : IAsyncLifetime
{
    private GatewayServer _gateway = null!;

    public async Task InitializeAsync() => _gateway = await GatewayServer.StartAsync();
    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(65536 + 1)]
    [InlineData(3 * 1024 * 1024 + 7)]
    public async Task Put_then_get_returns_the_same_bytes_and_metadata(int size)
    {
        using var s3 = _gateway.CreateClient();
        await s3.PutBucketAsync("sdk-bucket");
        var body = RandomNumberGenerator.GetBytes(size);
        await s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = "sdk-bucket",
            Key = "dir/obj+name with spaces.bin",
            InputStream = new MemoryStream(body),
            ContentType = "application/x-test",
            Metadata = { ["colour"] = "blue" },
        });
        using var got = await s3.GetObjectAsync("sdk-bucket", "dir/obj+name with spaces.bin");
        using var copy = new MemoryStream();
        await got.ResponseStream.CopyToAsync(copy);
        Assert.Equal(body, copy.ToArray());
        Assert.Equal("application/x-test", got.Headers.ContentType);
        Assert.Equal("blue", got.Metadata["colour"]);
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(body)), got.ETag.Trim('"'));
    }
}
