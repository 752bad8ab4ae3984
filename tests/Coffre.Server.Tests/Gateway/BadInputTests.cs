using System.Net;
using System.Security.Cryptography;
using System.Text;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.Server.Auth;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>Requests a gateway must refuse, with the S3 error a client expects, and without side effects.</summary>
public sealed class BadInputTests(BadInputTests.Fixture fixture) : IClassFixture<BadInputTests.Fixture>
{
    public const string RestrictedKey = "AKIARESTRICTED000001";
    public const string RestrictedSecret = "restricted-secret-0000000000000000000001";
    private const int MiB = 1024 * 1024;

    public sealed class Fixture : IAsyncLifetime
    {
        public GatewayServer Gateway { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Gateway = await GatewayServer.StartAsync(configure: o => o.AccessKeys.Add(new AccessKeyOptions
            {
                AccessKeyId = RestrictedKey, SecretAccessKey = RestrictedSecret, Buckets = ["only-this"],
            }));
            using var s3 = Gateway.CreateClient();
            await s3.PutBucketAsync("bad");
            await s3.PutBucketAsync("only-this");
            await s3.PutBucketAsync("other");
            await s3.PutBytesAsync("other", "secret", "other bucket"u8.ToArray());
        }

        public async Task DisposeAsync() => await Gateway.DisposeAsync();
    }

    private GatewayServer Gateway => fixture.Gateway;

    private static async Task<AmazonS3Exception> Refused(Func<Task> action, HttpStatusCode status, string code)
    {
        var e = await Assert.ThrowsAnyAsync<AmazonS3Exception>(action);
        Assert.Equal(status, e.StatusCode);
        Assert.Equal(code, e.ErrorCode);
        return e;
    }

    [Fact]
    public async Task Wrong_secret_and_unknown_access_key_are_403()
    {
        using var wrongSecret = Client(Gateway, c => c.MaxErrorRetry = 0, secretKey: "not-the-secret-000000000000000000000000");
        await Refused(() => wrongSecret.ListBucketsAsync(), HttpStatusCode.Forbidden, "SignatureDoesNotMatch");
        await Refused(() => wrongSecret.PutBytesAsync("bad", "x", [1, 2, 3]), HttpStatusCode.Forbidden, "SignatureDoesNotMatch");
        using var unknown = Client(Gateway, c => c.MaxErrorRetry = 0, accessKey: "AKIAUNKNOWN000000000");
        await Refused(() => unknown.ListBucketsAsync(), HttpStatusCode.Forbidden, "InvalidAccessKeyId");
        using var s3 = Gateway.CreateClient();
        await Refused(() => s3.GetObjectMetadataAsync("bad", "x"), HttpStatusCode.NotFound, "NotFound");
    }

    [Fact]
    public async Task Unknown_bucket_and_missing_key_are_404()
    {
        using var s3 = Gateway.CreateClient();
        await Refused(() => s3.GetObjectAsync("no-such-bucket", "k"), HttpStatusCode.NotFound, "NoSuchBucket");
        await Refused(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "no-such-bucket" }), HttpStatusCode.NotFound, "NoSuchBucket");
        await Refused(() => s3.PutBytesAsync("no-such-bucket", "k", [1]), HttpStatusCode.NotFound, "NoSuchBucket");
        await Refused(() => s3.GetObjectAsync("bad", "no/such/key"), HttpStatusCode.NotFound, "NoSuchKey");
    }

    [Fact]
    public async Task Range_beyond_the_end_is_416()
    {
        using var s3 = Gateway.CreateClient();
        await s3.PutBytesAsync("bad", "ten", Encoding.ASCII.GetBytes("0123456789"));
        await Refused(() => s3.GetObjectAsync(new GetObjectRequest { BucketName = "bad", Key = "ten", ByteRange = new ByteRange(10, 20) }),
            HttpStatusCode.RequestedRangeNotSatisfiable, "InvalidRange");
        using var raw = await SendSignedAsync(Gateway, HttpMethod.Get, "/bad/ten", headers: [("Range", "bytes=100-")]);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, raw.StatusCode);
    }

    [Fact]
    public async Task Content_MD5_mismatch_is_BadDigest_and_changes_nothing()
    {
        using var s3 = Gateway.CreateClient();
        var wrongMd5 = Convert.ToBase64String(MD5.HashData("something else"u8));
        await Refused(() => s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = "bad", Key = "md5-new", InputStream = new MemoryStream("body"u8.ToArray()), MD5Digest = wrongMd5,
        }), HttpStatusCode.BadRequest, "BadDigest");
        await Refused(() => s3.GetObjectMetadataAsync("bad", "md5-new"), HttpStatusCode.NotFound, "NotFound");

        await s3.PutBytesAsync("bad", "md5-existing", "original"u8.ToArray());
        await Refused(() => s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = "bad", Key = "md5-existing", InputStream = new MemoryStream("replacement"u8.ToArray()), MD5Digest = wrongMd5, UseChunkEncoding = false,
        }), HttpStatusCode.BadRequest, "BadDigest");
        Assert.Equal("original"u8.ToArray(), await s3.GetBytesAsync("bad", "md5-existing"));

        // Raw, without any SDK checksum: Content-MD5 alone.
        using var raw = await SendSignedAsync(Gateway, HttpMethod.Put, "/bad/md5-raw", "raw body"u8.ToArray(), [("Content-MD5", wrongMd5)]);
        Assert.Equal(HttpStatusCode.BadRequest, raw.StatusCode);
        Assert.Equal("BadDigest", await ErrorCodeAsync(raw));
        await Refused(() => s3.GetObjectMetadataAsync("bad", "md5-raw"), HttpStatusCode.NotFound, "NotFound");
    }

    [Fact]
    public async Task Wrong_checksum_header_is_BadDigest_and_changes_nothing()
    {
        using var s3 = Gateway.CreateClient();
        var wrongCrc = Convert.ToBase64String(SdkObjectTests.Crc32BigEndian("something else"u8));
        using var raw = await SendSignedAsync(Gateway, HttpMethod.Put, "/bad/crc-raw", "raw body"u8.ToArray(), [("x-amz-checksum-crc32", wrongCrc)]);
        Assert.Equal(HttpStatusCode.BadRequest, raw.StatusCode);
        Assert.Equal("BadDigest", await ErrorCodeAsync(raw));
        await Refused(() => s3.GetObjectMetadataAsync("bad", "crc-raw"), HttpStatusCode.NotFound, "NotFound");

        var rightCrc = Convert.ToBase64String(SdkObjectTests.Crc32BigEndian("raw body"u8));
        using var ok = await SendSignedAsync(Gateway, HttpMethod.Put, "/bad/crc-raw", "raw body"u8.ToArray(), [("x-amz-checksum-crc32", rightCrc)]);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(rightCrc, ok.Headers.GetValues("x-amz-checksum-crc32").Single());
        Assert.Equal("raw body"u8.ToArray(), await s3.GetBytesAsync("bad", "crc-raw"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Wrong_checksum_trailer_in_a_signed_aws_chunked_body_is_BadDigest(bool correct)
    {
        var data = Pattern(200_000, 3);
        var crc = Convert.ToBase64String(SdkObjectTests.Crc32BigEndian(correct ? data : data[1..]));
        var key = "trailer-" + correct;
        using var response = await SendSignedAsync(Gateway, HttpMethod.Put, "/bad/" + key, data,
            [
                ("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", data.Length.ToString()),
                ("x-amz-trailer", "x-amz-checksum-crc32"), ("x-amz-sdk-checksum-algorithm", "CRC32"),
            ],
            contentSha256: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
            chunkedBody: (signingKey, timestamp, scope, seed) => Signing.TestSigner.ChunkedBody(data, 64 * 1024, signingKey, timestamp, scope, seed,
                [new KeyValuePair<string, string>("x-amz-checksum-crc32", crc)]));
        using var s3 = Gateway.CreateClient();
        if (correct)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(data, await s3.GetBytesAsync("bad", key));
            return;
        }
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("BadDigest", await ErrorCodeAsync(response));
        await Refused(() => s3.GetObjectMetadataAsync("bad", key), HttpStatusCode.NotFound, "NotFound");
    }

    [Fact]
    public async Task Complete_multipart_refuses_malformed_xml_and_bad_part_lists()
    {
        using var s3 = Gateway.CreateClient();
        var init = await s3.InitiateMultipartUploadAsync("bad", "mp");
        var p1 = await s3.UploadPartAsync(new UploadPartRequest { BucketName = "bad", Key = "mp", UploadId = init.UploadId, PartNumber = 1, InputStream = new MemoryStream(Pattern(MiB, 1)) });
        var p2 = await s3.UploadPartAsync(new UploadPartRequest { BucketName = "bad", Key = "mp", UploadId = init.UploadId, PartNumber = 2, InputStream = new MemoryStream(Pattern(1000, 2)) });

        using (var malformed = await SendSignedAsync(Gateway, HttpMethod.Post, $"/bad/mp?uploadId={init.UploadId}",
                   "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"u8.ToArray()))
        {
            Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
            Assert.Equal("MalformedXML", await ErrorCodeAsync(malformed));
        }
        using (var wrongRoot = await SendSignedAsync(Gateway, HttpMethod.Post, $"/bad/mp?uploadId={init.UploadId}", "<Nope/>"u8.ToArray()))
            Assert.Equal("MalformedXML", await ErrorCodeAsync(wrongRoot));

        Task<CompleteMultipartUploadResponse> Complete(params PartETag[] parts) => s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
        {
            BucketName = "bad", Key = "mp", UploadId = init.UploadId, PartETags = [.. parts],
        });
        await Refused(() => Complete(new PartETag(1, "\"0123456789abcdef0123456789abcdef\""), new PartETag(2, p2.ETag)), HttpStatusCode.BadRequest, "InvalidPart");
        await Refused(() => Complete(new PartETag(1, p1.ETag), new PartETag(3, p2.ETag)), HttpStatusCode.BadRequest, "InvalidPart");
        // The SDK sorts the part list itself, so the out-of-order list goes raw.
        var outOfOrder = $"<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>{p2.ETag}</ETag></Part><Part><PartNumber>1</PartNumber><ETag>{p1.ETag}</ETag></Part></CompleteMultipartUpload>";
        using (var order = await SendSignedAsync(Gateway, HttpMethod.Post, $"/bad/mp?uploadId={init.UploadId}", Encoding.UTF8.GetBytes(outOfOrder)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, order.StatusCode);
            Assert.Equal("InvalidPartOrder", await ErrorCodeAsync(order));
        }
        await Refused(() => Complete(new PartETag(1, p1.ETag), new PartETag(2, p2.ETag)), HttpStatusCode.BadRequest, "EntityTooSmall");

        // None of those completed anything; a valid completion (a lone small last part) still works.
        await Refused(() => s3.GetObjectMetadataAsync("bad", "mp"), HttpStatusCode.NotFound, "NotFound");
        var completed = await Complete(new PartETag(2, p2.ETag));
        Assert.Equal(Pattern(1000, 2), await s3.GetBytesAsync("bad", "mp"));
        // A retried Complete of the completed upload answers the object it made, as S3 does; other parts still do not exist.
        Assert.Equal(completed.ETag, (await Complete(new PartETag(2, p2.ETag))).ETag);
        await Refused(() => Complete(new PartETag(1, p1.ETag)), HttpStatusCode.NotFound, "NoSuchUpload");
    }

    [Fact]
    public async Task A_restricted_key_sees_and_uses_only_its_buckets()
    {
        using var restricted = Client(Gateway, c => c.MaxErrorRetry = 0, accessKey: RestrictedKey, secretKey: RestrictedSecret);
        var buckets = await restricted.ListBucketsAsync();
        Assert.Equal(["only-this"], buckets.Buckets.Select(b => b.BucketName));

        await restricted.PutBytesAsync("only-this", "mine", [1, 2, 3]);
        Assert.Equal([1, 2, 3], await restricted.GetBytesAsync("only-this", "mine"));

        await Refused(() => restricted.GetObjectAsync("other", "secret"), HttpStatusCode.Forbidden, "AccessDenied");
        await Refused(() => restricted.PutBytesAsync("other", "intruder", [1]), HttpStatusCode.Forbidden, "AccessDenied");
        await Refused(() => restricted.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "other" }), HttpStatusCode.Forbidden, "AccessDenied");
        await Refused(() => restricted.DeleteObjectAsync("other", "secret"), HttpStatusCode.Forbidden, "AccessDenied");
        await Refused(() => restricted.PutBucketAsync("new-bucket"), HttpStatusCode.Forbidden, "AccessDenied");
        // Copy from a bucket it may not read into one it may write.
        await Refused(() => restricted.CopyObjectAsync("other", "secret", "only-this", "stolen"), HttpStatusCode.Forbidden, "AccessDenied");
        await Refused(() => restricted.GetObjectMetadataAsync("only-this", "stolen"), HttpStatusCode.NotFound, "NotFound");

        using var admin = Gateway.CreateClient();
        Assert.Equal("other bucket"u8.ToArray(), await admin.GetBytesAsync("other", "secret"));
    }
}
