using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>One local-disk gateway shared by the tests of a class.</summary>
public sealed class LocalGatewayFixture : IAsyncLifetime
{
    public GatewayServer Gateway { get; private set; } = null!;
    public async Task InitializeAsync() => Gateway = await GatewayServer.StartAsync();
    public async Task DisposeAsync() => await Gateway.DisposeAsync();
}

/// <summary>AWSSDK.S3 in-process: bodies, checksums, conditions, copies, deletes and buckets.</summary>
public sealed class SdkObjectTests(LocalGatewayFixture fixture) : IClassFixture<LocalGatewayFixture>
{
    private GatewayServer Gateway => fixture.Gateway;

    private async Task<AmazonS3Client> ClientWithBucketAsync(string bucket, Action<AmazonS3Config>? configure = null)
    {
        var s3 = Client(Gateway, configure);
        try { await s3.PutBucketAsync(bucket); }
        catch (AmazonS3Exception e) when (e.ErrorCode == "BucketAlreadyOwnedByYou") { }
        return s3;
    }

    public static TheoryData<string, int> Variants()
    {
        var data = new TheoryData<string, int>();
        foreach (var mode in new[] { "default", "unchunked", "CRC32C", "CRC64NVME", "SHA1", "SHA256" })
            foreach (var size in new[] { 0, 1, 10 * 1024 * 1024 })
                data.Add(mode, size);
        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Put_and_get_round_trip_with_every_body_encoding_and_checksum(string mode, int size)
    {
        using var s3 = await ClientWithBucketAsync("sdk-variants");
        var body = Pattern(size, size + mode.Length);
        var key = $"{mode}/{size}.bin";
        var request = new PutObjectRequest { BucketName = "sdk-variants", Key = key, InputStream = new MemoryStream(body) };
        ChecksumAlgorithm algorithm = ChecksumAlgorithm.CRC32;
        if (mode == "unchunked") request.UseChunkEncoding = false;
        else if (mode != "default")
        {
            algorithm = ChecksumAlgorithm.FindValue(mode);
            request.ChecksumAlgorithm = algorithm;
        }
        var put = await s3.PutObjectAsync(request);
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(body)), put.ETag.Trim('"'));

        using var got = await s3.GetObjectAsync(new GetObjectRequest { BucketName = "sdk-variants", Key = key, ChecksumMode = ChecksumMode.ENABLED });
        // The SDK validates the returned full-object checksum against the body it reads.
        Assert.Equal(body, await ReadAllAsync(got.ResponseStream));
        Assert.Equal(size, got.ContentLength);
        var returned = algorithm.Value switch
        {
            "CRC32" => got.ChecksumCRC32,
            "CRC32C" => got.ChecksumCRC32C,
            "CRC64NVME" => got.ChecksumCRC64NVME,
            "SHA1" => got.ChecksumSHA1,
            "SHA256" => got.ChecksumSHA256,
            _ => null,
        };
        Assert.False(string.IsNullOrEmpty(returned), $"no {algorithm} checksum returned");
        var expected = algorithm.Value switch
        {
            "CRC32" => Convert.ToBase64String(Crc32BigEndian(body)),
            "SHA1" => Convert.ToBase64String(SHA1.HashData(body)),
            "SHA256" => Convert.ToBase64String(SHA256.HashData(body)),
            _ => null,
        };
        if (expected is not null) Assert.Equal(expected, returned);
    }

    internal static byte[] Crc32BigEndian(ReadOnlySpan<byte> data)
    {
        var value = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(value, System.IO.Hashing.Crc32.HashToUInt32(data));
        return value;
    }

    [Fact]
    public async Task Conditional_gets_answer_304_and_412_as_S3_does()
    {
        using var s3 = await ClientWithBucketAsync("sdk-conditions");
        await s3.PutBytesAsync("sdk-conditions", "c", "conditional"u8.ToArray());
        var head = await s3.GetObjectMetadataAsync("sdk-conditions", "c");
        var etag = head.ETag;
        var past = DateTime.UtcNow.AddDays(-1);
        var future = DateTime.UtcNow.AddDays(1);

        async Task<HttpStatusCode> Status(GetObjectRequest r)
        {
            r.BucketName = "sdk-conditions";
            r.Key = "c";
            try
            {
                using var response = await s3.GetObjectAsync(r);
                Assert.Equal("conditional"u8.ToArray(), await ReadAllAsync(response.ResponseStream));
                return response.HttpStatusCode;
            }
            catch (AmazonS3Exception e)
            {
                return e.StatusCode;
            }
        }

        Assert.Equal(HttpStatusCode.OK, await Status(new GetObjectRequest { EtagToMatch = etag }));
        Assert.Equal(HttpStatusCode.PreconditionFailed, await Status(new GetObjectRequest { EtagToMatch = "\"0123456789abcdef0123456789abcdef\"" }));
        Assert.Equal(HttpStatusCode.NotModified, await Status(new GetObjectRequest { EtagToNotMatch = etag }));
        Assert.Equal(HttpStatusCode.OK, await Status(new GetObjectRequest { EtagToNotMatch = "\"0123456789abcdef0123456789abcdef\"" }));
        Assert.Equal(HttpStatusCode.NotModified, await Status(new GetObjectRequest { ModifiedSinceDate = future }));
        Assert.Equal(HttpStatusCode.OK, await Status(new GetObjectRequest { ModifiedSinceDate = past }));
        Assert.Equal(HttpStatusCode.PreconditionFailed, await Status(new GetObjectRequest { UnmodifiedSinceDate = past }));
        Assert.Equal(HttpStatusCode.OK, await Status(new GetObjectRequest { UnmodifiedSinceDate = future }));
        // If-Match takes precedence over a failing If-Unmodified-Since (RFC 7232 §6, as S3 documents).
        Assert.Equal(HttpStatusCode.OK, await Status(new GetObjectRequest { EtagToMatch = etag, UnmodifiedSinceDate = past }));
    }

    [Fact]
    public async Task Response_header_overrides_and_part_number_with_range()
    {
        using var s3 = await ClientWithBucketAsync("sdk-overrides");
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "sdk-overrides", Key = "o", ContentBody = "override me", ContentType = "text/plain" });
        var request = new GetObjectRequest { BucketName = "sdk-overrides", Key = "o" };
        request.ResponseHeaderOverrides.ContentType = "application/x-overridden";
        request.ResponseHeaderOverrides.ContentDisposition = "attachment; filename=\"x.txt\"";
        request.ResponseHeaderOverrides.CacheControl = "no-store";
        using (var got = await s3.GetObjectAsync(request))
        {
            Assert.Equal("override me", (await ReadAllAsync(got.ResponseStream)).Utf8());
            Assert.Equal("application/x-overridden", got.Headers.ContentType);
            Assert.Equal("attachment; filename=\"x.txt\"", got.Headers.ContentDisposition);
            Assert.Equal("no-store", got.Headers.CacheControl);
        }
        // Stored metadata is unchanged.
        Assert.Equal("text/plain", (await s3.GetObjectMetadataAsync("sdk-overrides", "o")).Headers.ContentType);

        var both = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.GetObjectAsync(new GetObjectRequest
        {
            BucketName = "sdk-overrides", Key = "o", PartNumber = 1, ByteRange = new ByteRange(0, 1),
        }));
        Assert.Equal(HttpStatusCode.BadRequest, both.StatusCode);
        Assert.Equal("InvalidRequest", both.ErrorCode);
    }

    [Fact]
    public async Task Copy_object_with_COPY_and_REPLACE_directives_to_itself_and_across_buckets()
    {
        using var s3 = await ClientWithBucketAsync("sdk-copy-a");
        await s3.PutBucketAsync("sdk-copy-b");
        var body = Pattern(200_000, 7);
        await s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = "sdk-copy-a", Key = "src", InputStream = new MemoryStream(body), ContentType = "text/x-source",
            Metadata = { ["colour"] = "blue" },
        });

        await s3.CopyObjectAsync(new CopyObjectRequest
        {
            SourceBucket = "sdk-copy-a", SourceKey = "src", DestinationBucket = "sdk-copy-a", DestinationKey = "copied",
            MetadataDirective = S3MetadataDirective.COPY,
        });
        using (var copied = await s3.GetObjectAsync("sdk-copy-a", "copied"))
        {
            Assert.Equal(body, await ReadAllAsync(copied.ResponseStream));
            Assert.Equal("blue", copied.Metadata["colour"]);
            Assert.Equal("text/x-source", copied.Headers.ContentType);
        }

        await s3.CopyObjectAsync(new CopyObjectRequest
        {
            SourceBucket = "sdk-copy-a", SourceKey = "src", DestinationBucket = "sdk-copy-a", DestinationKey = "replaced",
            MetadataDirective = S3MetadataDirective.REPLACE, ContentType = "text/x-replaced", Metadata = { ["shape"] = "round" },
        });
        using (var replaced = await s3.GetObjectAsync("sdk-copy-a", "replaced"))
        {
            Assert.Equal(body, await ReadAllAsync(replaced.ResponseStream));
            Assert.Equal("round", replaced.Metadata["shape"]);
            Assert.Null(replaced.Metadata["colour"]);
            Assert.Equal("text/x-replaced", replaced.Headers.ContentType);
        }

        // To itself: COPY is refused, REPLACE rewrites the metadata in place.
        var self = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.CopyObjectAsync(new CopyObjectRequest
        {
            SourceBucket = "sdk-copy-a", SourceKey = "src", DestinationBucket = "sdk-copy-a", DestinationKey = "src",
            MetadataDirective = S3MetadataDirective.COPY,
        }));
        Assert.Equal("InvalidRequest", self.ErrorCode);
        Assert.Equal(HttpStatusCode.BadRequest, self.StatusCode);
        await s3.CopyObjectAsync(new CopyObjectRequest
        {
            SourceBucket = "sdk-copy-a", SourceKey = "src", DestinationBucket = "sdk-copy-a", DestinationKey = "src",
            MetadataDirective = S3MetadataDirective.REPLACE, Metadata = { ["colour"] = "green" },
        });
        using (var again = await s3.GetObjectAsync("sdk-copy-a", "src"))
        {
            Assert.Equal(body, await ReadAllAsync(again.ResponseStream));
            Assert.Equal("green", again.Metadata["colour"]);
        }

        // Across buckets.
        await s3.CopyObjectAsync("sdk-copy-a", "src", "sdk-copy-b", "elsewhere/src");
        Assert.Equal(body, await s3.GetBytesAsync("sdk-copy-b", "elsewhere/src"));
    }

    [Theory]
    [InlineData("a//double")]
    [InlineData("/leading")]
    [InlineData("dot/./x")]
    [InlineData("dots/../y")]
    [InlineData("trailing/")]
    [InlineData("semi;colon=eq&amp")]
    [InlineData("~tilde*star'quote(paren)")]
    [InlineData("nfc-\u00e9 vs nfd-e\u0301")]
    [InlineData("ctrl\u0001char")]
    public async Task Odd_keys_round_trip_and_list_exactly(string escaped)
    {
        var key = System.Text.RegularExpressions.Regex.Unescape(escaped);
        using var s3 = await ClientWithBucketAsync("sdk-odd-keys");
        var body = System.Text.Encoding.UTF8.GetBytes(key);
        if (key.StartsWith('/'))
        {
            // AWSSDK.S3 strips or mis-signs a leading '/' (aws/aws-sdk-net#1720); S3 keeps it, and so must Coffre.
            var path = "/sdk-odd-keys/" + EncodeKeyPath(key);
            using (var put = await SendSignedAsync(Gateway, HttpMethod.Put, path, body)) Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            using (var get = await SendSignedAsync(Gateway, HttpMethod.Get, path))
            {
                Assert.Equal(HttpStatusCode.OK, get.StatusCode);
                Assert.Equal(body, await get.Content.ReadAsByteArrayAsync());
            }
        }
        else
        {
            await s3.PutBytesAsync("sdk-odd-keys", key, body);
            Assert.Equal(body, await s3.GetBytesAsync("sdk-odd-keys", key));
        }
        // Url encoding, so that characters XML 1.0 cannot carry survive the listing.
        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "sdk-odd-keys", Prefix = key, Encoding = EncodingType.Url });
        Assert.Contains(key, listed.S3Objects.Select(o => WebUtility.UrlDecode(o.Key)));
        // Without it, the listing still answers (S3 writes such characters as character references).
        using (var raw = await SendSignedAsync(Gateway, HttpMethod.Get, "/sdk-odd-keys?list-type=2"))
        {
            Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
            var text = await raw.Content.ReadAsStringAsync();
            Assert.DoesNotContain("\u0001", text);
            if (key.Contains('\u0001')) Assert.Contains("ctrl&#x1;char", text);
        }
        if (key.StartsWith('/'))
        {
            using var delete = await SendSignedAsync(Gateway, HttpMethod.Delete, "/sdk-odd-keys/" + EncodeKeyPath(key));
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
            return;
        }
        await s3.DeleteObjectAsync("sdk-odd-keys", key);
        await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.GetObjectMetadataAsync("sdk-odd-keys", key));
    }

    [Fact]
    public async Task Copy_source_conditions()
    {
        using var s3 = await ClientWithBucketAsync("sdk-copy-cond");
        var put = await s3.PutObjectAsync(new PutObjectRequest { BucketName = "sdk-copy-cond", Key = "src", ContentBody = "conditional copy" });
        var past = DateTime.UtcNow.AddDays(-1);
        var future = DateTime.UtcNow.AddDays(1);
        const string other = "\"0123456789abcdef0123456789abcdef\"";

        async Task<HttpStatusCode> Copy(Action<CopyObjectRequest> set)
        {
            var r = new CopyObjectRequest { SourceBucket = "sdk-copy-cond", SourceKey = "src", DestinationBucket = "sdk-copy-cond", DestinationKey = "dst" };
            set(r);
            try { return (await s3.CopyObjectAsync(r)).HttpStatusCode; }
            catch (AmazonS3Exception e) { return e.StatusCode; }
        }

        Assert.Equal(HttpStatusCode.OK, await Copy(r => r.ETagToMatch = put.ETag));
        Assert.Equal(HttpStatusCode.PreconditionFailed, await Copy(r => r.ETagToMatch = other));
        Assert.Equal(HttpStatusCode.PreconditionFailed, await Copy(r => r.ETagToNotMatch = put.ETag));
        Assert.Equal(HttpStatusCode.OK, await Copy(r => r.ETagToNotMatch = other));
        Assert.Equal(HttpStatusCode.OK, await Copy(r => r.ModifiedSinceDate = past));
        Assert.Equal(HttpStatusCode.PreconditionFailed, await Copy(r => r.ModifiedSinceDate = future));
        Assert.Equal(HttpStatusCode.OK, await Copy(r => r.UnmodifiedSinceDate = future));
        Assert.Equal(HttpStatusCode.PreconditionFailed, await Copy(r => r.UnmodifiedSinceDate = past));
        // S3: if-match true + if-unmodified-since false → copied; if-none-match false + if-modified-since true → 412.
        Assert.Equal(HttpStatusCode.OK, await Copy(r => { r.ETagToMatch = put.ETag; r.UnmodifiedSinceDate = past; }));
        Assert.Equal(HttpStatusCode.PreconditionFailed, await Copy(r => { r.ETagToNotMatch = put.ETag; r.ModifiedSinceDate = past; }));
    }

    [Fact]
    public async Task Delete_objects_quiet_and_verbose()
    {
        using var s3 = await ClientWithBucketAsync("sdk-delete");
        foreach (var k in new[] { "d1", "d2", "d3", "q1", "q2" })
            await s3.PutBytesAsync("sdk-delete", k, [1, 2, 3]);

        var verbose = await s3.DeleteObjectsAsync(new DeleteObjectsRequest
        {
            BucketName = "sdk-delete",
            Objects = [new KeyVersion { Key = "d1" }, new KeyVersion { Key = "d2" }, new KeyVersion { Key = "d3" }, new KeyVersion { Key = "never-existed" }],
        });
        Assert.Equal(["d1", "d2", "d3", "never-existed"], verbose.DeletedObjects.Select(d => d.Key).Order(StringComparer.Ordinal));
        Assert.True(verbose.DeleteErrors is null || verbose.DeleteErrors.Count == 0);

        var quiet = await s3.DeleteObjectsAsync(new DeleteObjectsRequest
        {
            BucketName = "sdk-delete", Quiet = true,
            Objects = [new KeyVersion { Key = "q1" }, new KeyVersion { Key = "q2" }],
        });
        Assert.True(quiet.DeletedObjects is null || quiet.DeletedObjects.Count == 0);

        var left = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "sdk-delete" });
        Assert.True(left.S3Objects is null || left.S3Objects.Count == 0);
    }

    [Fact]
    public async Task Bucket_lifecycle_errors()
    {
        using var s3 = await ClientWithBucketAsync("sdk-buckets");
        // us-east-1 answers 200 to the owner creating its bucket again (CreateBucket reference); other regions 409.
        Assert.Equal(HttpStatusCode.OK, (await s3.PutBucketAsync("sdk-buckets")).HttpStatusCode);

        await s3.PutBytesAsync("sdk-buckets", "keep", [1]);
        var notEmpty = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.DeleteBucketAsync("sdk-buckets"));
        Assert.Equal("BucketNotEmpty", notEmpty.ErrorCode);
        Assert.Equal(HttpStatusCode.Conflict, notEmpty.StatusCode);

        var missing = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.HeadBucketAsync(new HeadBucketRequest { BucketName = "sdk-no-such-bucket" }));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        await s3.DeleteObjectAsync("sdk-buckets", "keep");
        await s3.DeleteBucketAsync("sdk-buckets");
        var gone = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.HeadBucketAsync(new HeadBucketRequest { BucketName = "sdk-buckets" }));
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task Creating_an_existing_bucket_outside_us_east_1_is_BucketAlreadyOwnedByYou()
    {
        await using var gateway = await GatewayServer.StartAsync(configure: o => o.Region = "eu-west-3");
        using var s3 = Client(gateway);
        await s3.PutBucketAsync("sdk-region");
        var twice = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.PutBucketAsync("sdk-region"));
        Assert.Equal(("BucketAlreadyOwnedByYou", HttpStatusCode.Conflict), (twice.ErrorCode, twice.StatusCode));
    }
}
