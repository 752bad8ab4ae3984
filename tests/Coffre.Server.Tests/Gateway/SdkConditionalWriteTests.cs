using System.Net;
using Amazon.S3;
using Amazon.S3.Model;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>S3 conditional writes (If-None-Match: *, If-Match: etag) on PutObject, CopyObject and CompleteMultipartUpload.</summary>
public sealed class SdkConditionalWriteTests(LocalGatewayFixture fixture) : IClassFixture<LocalGatewayFixture>
{
    private GatewayServer Gateway => fixture.Gateway;

    private async Task<AmazonS3Client> ClientAsync()
    {
        var s3 = Client(Gateway, c => c.MaxErrorRetry = 0);
        try { await s3.PutBucketAsync("cond"); }
        catch (AmazonS3Exception e) when (e.ErrorCode == "BucketAlreadyOwnedByYou") { }
        return s3;
    }

    private static async Task<AmazonS3Exception> Refused(Func<Task> action, HttpStatusCode status, string code)
    {
        var e = await Assert.ThrowsAnyAsync<AmazonS3Exception>(action);
        Assert.Equal(status, e.StatusCode);
        Assert.Equal(code, e.ErrorCode);
        return e;
    }

    private static PutObjectRequest Put(string key, string text, string? ifMatch = null, string? ifNoneMatch = null) => new()
    {
        BucketName = "cond", Key = key, ContentBody = text, IfMatch = ifMatch, IfNoneMatch = ifNoneMatch,
    };

    [Fact]
    public async Task Put_if_none_match_creates_only()
    {
        using var s3 = await ClientAsync();
        await s3.PutObjectAsync(Put("create-only", "first", ifNoneMatch: "*"));
        await Refused(() => s3.PutObjectAsync(Put("create-only", "second", ifNoneMatch: "*")), HttpStatusCode.PreconditionFailed, "PreconditionFailed");
        Assert.Equal("first", (await s3.GetBytesAsync("cond", "create-only")).Utf8());
    }

    [Fact]
    public async Task Put_if_match_replaces_only_the_expected_version()
    {
        using var s3 = await ClientAsync();
        var v1 = await s3.PutObjectAsync(Put("cas", "one"));
        await Refused(() => s3.PutObjectAsync(Put("cas", "two", ifMatch: "\"0123456789abcdef0123456789abcdef\"")), HttpStatusCode.PreconditionFailed, "PreconditionFailed");
        Assert.Equal("one", (await s3.GetBytesAsync("cond", "cas")).Utf8());
        await s3.PutObjectAsync(Put("cas", "two", ifMatch: v1.ETag));
        Assert.Equal("two", (await s3.GetBytesAsync("cond", "cas")).Utf8());
        await Refused(() => s3.PutObjectAsync(Put("cas", "three", ifMatch: v1.ETag)), HttpStatusCode.PreconditionFailed, "PreconditionFailed");
        await Refused(() => s3.PutObjectAsync(Put("cas-missing", "x", ifMatch: v1.ETag)), HttpStatusCode.NotFound, "NoSuchKey");
    }

    [Fact]
    public async Task Concurrent_create_only_puts_let_exactly_one_win()
    {
        using var s3 = await ClientAsync();
        var attempts = Enumerable.Range(0, 8).Select(async i =>
        {
            try
            {
                await s3.PutObjectAsync(Put("race", "writer " + i, ifNoneMatch: "*"));
                return (i, true);
            }
            catch (AmazonS3Exception e) when (e.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict)
            {
                return (i, false);
            }
        }).ToList();
        var results = await Task.WhenAll(attempts);
        var winner = Assert.Single(results, r => r.Item2);
        Assert.Equal("writer " + winner.i, (await s3.GetBytesAsync("cond", "race")).Utf8());
    }

    [Fact]
    public async Task Copy_and_complete_honour_if_none_match()
    {
        using var s3 = await ClientAsync();
        await s3.PutObjectAsync(Put("taken", "already here"));
        await s3.PutObjectAsync(Put("copy-source", "source"));
        await Refused(() => s3.CopyObjectAsync(new CopyObjectRequest
        {
            SourceBucket = "cond", SourceKey = "copy-source", DestinationBucket = "cond", DestinationKey = "taken", IfNoneMatch = "*",
        }), HttpStatusCode.PreconditionFailed, "PreconditionFailed");
        await s3.CopyObjectAsync(new CopyObjectRequest
        {
            SourceBucket = "cond", SourceKey = "copy-source", DestinationBucket = "cond", DestinationKey = "copy-new", IfNoneMatch = "*",
        });
        Assert.Equal("source", (await s3.GetBytesAsync("cond", "copy-new")).Utf8());

        var init = await s3.InitiateMultipartUploadAsync("cond", "taken");
        var part = await s3.UploadPartAsync(new UploadPartRequest { BucketName = "cond", Key = "taken", UploadId = init.UploadId, PartNumber = 1, InputStream = new MemoryStream("mp"u8.ToArray()) });
        await Refused(() => s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
        {
            BucketName = "cond", Key = "taken", UploadId = init.UploadId, PartETags = [new PartETag(1, part.ETag)], IfNoneMatch = "*",
        }), HttpStatusCode.PreconditionFailed, "PreconditionFailed");
        Assert.Equal("already here", (await s3.GetBytesAsync("cond", "taken")).Utf8());
        var head = await s3.GetObjectMetadataAsync("cond", "taken");
        await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
        {
            BucketName = "cond", Key = "taken", UploadId = init.UploadId, PartETags = [new PartETag(1, part.ETag)], IfMatch = head.ETag,
        });
        Assert.Equal("mp", (await s3.GetBytesAsync("cond", "taken")).Utf8());
    }
}
