using System.Net;
using System.Text;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.TestSupport;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// S3 object tagging, storage classes and GetObjectAttributes / partNumber reads through AWSSDK.S3, each scenario over
/// local disk and over a moto backend, as the S3 API reference documents them.
/// </summary>
public sealed class ObjectMetaSdkTests
{
    private const int MiB = 1024 * 1024;

    /// <summary>A tag value no other byte sequence of the test contains: looked for on disk and at the backend.</summary>
    private const string SecretTagValue = "Zephyr-7731-confidential";

    private static List<Tag> Tags(params (string Key, string Value)[] tags) => [.. tags.Select(t => new Tag { Key = t.Key, Value = t.Value })];

    private static async Task<List<(string, string)>> TagsOfAsync(IAmazonS3 s3, string bucket, string key, string? versionId = null) =>
        [.. ((await s3.GetObjectTaggingAsync(new GetObjectTaggingRequest { BucketName = bucket, Key = key, VersionId = versionId })).Tagging ?? [])
            .Select(t => (t.Key, t.Value))];

    private static async Task RefusedAsync(Func<Task> call, HttpStatusCode status, string code)
    {
        var e = await Assert.ThrowsAnyAsync<AmazonS3Exception>(call);
        Assert.Equal((status, code), (e.StatusCode, e.ErrorCode));
    }

    internal static async Task TaggingScenarioAsync(GatewayServer gateway)
    {
        using var s3 = gateway.CreateClient();
        await s3.PutBucketAsync("tags");
        await s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = "tags", Key = "doc", ContentBody = "body",
            TagSet = Tags(("project", SecretTagValue), ("cost center", "42 + été/x@y")),
        });
        Assert.Equal([("project", SecretTagValue), ("cost center", "42 + été/x@y")], await TagsOfAsync(s3, "tags", "doc"));
        using (var got = await s3.GetObjectAsync("tags", "doc"))
        {
            Assert.Equal(2, got.TagCount);
            Assert.Equal("body", Encoding.UTF8.GetString(await ReadAllAsync(got.ResponseStream)));
        }
        using (var head = await SendSignedAsync(gateway, HttpMethod.Head, "/tags/doc"))
            Assert.Equal("2", head.Headers.GetValues("x-amz-tagging-count").Single());

        // Replaced, then removed; the body is untouched.
        await s3.PutObjectTaggingAsync(new PutObjectTaggingRequest { BucketName = "tags", Key = "doc", Tagging = new Tagging { TagSet = Tags(("state", "final")) } });
        Assert.Equal([("state", "final")], await TagsOfAsync(s3, "tags", "doc"));
        Assert.Equal("body", (await s3.GetBytesAsync("tags", "doc")).Utf8());
        await s3.DeleteObjectTaggingAsync(new DeleteObjectTaggingRequest { BucketName = "tags", Key = "doc" });
        Assert.Empty(await TagsOfAsync(s3, "tags", "doc"));
        using (var untagged = await SendSignedAsync(gateway, HttpMethod.Head, "/tags/doc"))
            Assert.False(untagged.Headers.Contains("x-amz-tagging-count"));

        // Copies: the source's tags by default, the request's with REPLACE, whatever the metadata directive.
        await s3.PutObjectTaggingAsync(new PutObjectTaggingRequest { BucketName = "tags", Key = "doc", Tagging = new Tagging { TagSet = Tags(("src", "1")) } });
        await s3.CopyObjectAsync(new CopyObjectRequest { SourceBucket = "tags", SourceKey = "doc", DestinationBucket = "tags", DestinationKey = "copy" });
        Assert.Equal([("src", "1")], await TagsOfAsync(s3, "tags", "copy"));
        await s3.CopyObjectAsync(new CopyObjectRequest
        {
            SourceBucket = "tags", SourceKey = "doc", DestinationBucket = "tags", DestinationKey = "copy-meta",
            MetadataDirective = S3MetadataDirective.REPLACE, ContentType = "text/plain",
        });
        Assert.Equal([("src", "1")], await TagsOfAsync(s3, "tags", "copy-meta"));
        await s3.CopyObjectAsync(new CopyObjectRequest
        {
            SourceBucket = "tags", SourceKey = "doc", DestinationBucket = "tags", DestinationKey = "copy-new",
            TaggingDirective = TaggingDirective.REPLACE, TagSet = Tags(("dst", "2")),
        });
        Assert.Equal([("dst", "2")], await TagsOfAsync(s3, "tags", "copy-new"));

        // Multipart: the tags given at creation are the object's.
        var init = await s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = "tags", Key = "mp", TagSet = Tags(("mp", "yes")) });
        var part = await s3.UploadPartAsync(new UploadPartRequest { BucketName = "tags", Key = "mp", UploadId = init.UploadId, PartNumber = 1, InputStream = new MemoryStream([1, 2, 3]) });
        await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = "tags", Key = "mp", UploadId = init.UploadId, PartETags = [new PartETag(1, part.ETag)] });
        Assert.Equal([("mp", "yes")], await TagsOfAsync(s3, "tags", "mp"));

        // Versions keep their own tags.
        await s3.PutBucketVersioningAsync(new PutBucketVersioningRequest { BucketName = "tags", VersioningConfig = new S3BucketVersioningConfig { Status = VersionStatus.Enabled } });
        var v1 = (await s3.PutObjectAsync(new PutObjectRequest { BucketName = "tags", Key = "v", ContentBody = "1", TagSet = Tags(("v", "one")) })).VersionId;
        var v2 = (await s3.PutObjectAsync(new PutObjectRequest { BucketName = "tags", Key = "v", ContentBody = "2" })).VersionId;
        await s3.PutObjectTaggingAsync(new PutObjectTaggingRequest { BucketName = "tags", Key = "v", VersionId = v1, Tagging = new Tagging { TagSet = Tags(("v", "first")) } });
        Assert.Equal([("v", "first")], await TagsOfAsync(s3, "tags", "v", v1));
        Assert.Empty(await TagsOfAsync(s3, "tags", "v", v2));
        Assert.Empty(await TagsOfAsync(s3, "tags", "v"));

        // S3's limits and errors.
        var eleven = Tags([.. Enumerable.Range(0, 11).Select(i => ($"k{i}", "v"))]);
        await RefusedAsync(() => s3.PutObjectTaggingAsync(new PutObjectTaggingRequest { BucketName = "tags", Key = "doc", Tagging = new Tagging { TagSet = eleven } }),
            HttpStatusCode.BadRequest, "InvalidTag");
        await RefusedAsync(() => s3.PutObjectAsync(new PutObjectRequest { BucketName = "tags", Key = "bad", ContentBody = "x", TagSet = eleven }),
            HttpStatusCode.BadRequest, "InvalidTag");
        foreach (var bad in new[] { Tags(("aws:owner", "x")), Tags((new string('k', 129), "x")), Tags(("k", new string('v', 257))), Tags(("k", "a"), ("k", "b")), Tags(("k", "semi;colon")) })
            await RefusedAsync(() => s3.PutObjectTaggingAsync(new PutObjectTaggingRequest { BucketName = "tags", Key = "doc", Tagging = new Tagging { TagSet = bad } }),
                HttpStatusCode.BadRequest, "InvalidTag");
        Assert.Equal([("src", "1")], await TagsOfAsync(s3, "tags", "doc")); // refused: nothing changed
        await s3.PutObjectTaggingAsync(new PutObjectTaggingRequest
        {
            BucketName = "tags", Key = "doc", Tagging = new Tagging { TagSet = Tags((new string('k', 128), new string('v', 256)), ("empty", "")) },
        });
        Assert.Equal(2, (await TagsOfAsync(s3, "tags", "doc")).Count);
        await RefusedAsync(() => s3.GetObjectTaggingAsync(new GetObjectTaggingRequest { BucketName = "tags", Key = "absent" }), HttpStatusCode.NotFound, "NoSuchKey");
        await RefusedAsync(() => s3.PutObjectTaggingAsync(new PutObjectTaggingRequest { BucketName = "tags", Key = "absent", Tagging = new Tagging { TagSet = Tags(("a", "b")) } }),
            HttpStatusCode.NotFound, "NoSuchKey");

        // Bucket tags.
        await RefusedAsync(() => s3.GetBucketTaggingAsync(new GetBucketTaggingRequest { BucketName = "tags" }), HttpStatusCode.NotFound, "NoSuchTagSet");
        await s3.PutBucketTaggingAsync(new PutBucketTaggingRequest { BucketName = "tags", TagSet = Tags(("team", "storage"), ("tier", "gold")) });
        Assert.Equal([("team", "storage"), ("tier", "gold")], (await s3.GetBucketTaggingAsync(new GetBucketTaggingRequest { BucketName = "tags" })).TagSet.Select(t => (t.Key, t.Value)));
        await s3.DeleteBucketTaggingAsync(new DeleteBucketTaggingRequest { BucketName = "tags" });
        await RefusedAsync(() => s3.GetBucketTaggingAsync(new GetBucketTaggingRequest { BucketName = "tags" }), HttpStatusCode.NotFound, "NoSuchTagSet");
    }

    internal static async Task StorageClassScenarioAsync(GatewayServer gateway)
    {
        using var s3 = gateway.CreateClient();
        await s3.PutBucketAsync("classes");
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "classes", Key = "cold", ContentBody = "c", StorageClass = S3StorageClass.Glacier });
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "classes", Key = "plain", ContentBody = "p" });
        Assert.Equal(S3StorageClass.Glacier, (await s3.GetObjectMetadataAsync("classes", "cold")).StorageClass);
        using (var got = await s3.GetObjectAsync("classes", "cold"))
            Assert.Equal(S3StorageClass.Glacier, got.StorageClass);
        // STANDARD is not named on GET or HEAD, as S3 answers.
        using (var head = await SendSignedAsync(gateway, HttpMethod.Head, "/classes/plain"))
            Assert.False(head.Headers.Contains("x-amz-storage-class"));

        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "classes" });
        Assert.Equal([("cold", "GLACIER"), ("plain", "STANDARD")], listed.S3Objects.Select(o => (o.Key, o.StorageClass.Value)));
        var listedV1 = await s3.ListObjectsAsync(new ListObjectsRequest { BucketName = "classes" });
        Assert.Equal(["GLACIER", "STANDARD"], listedV1.S3Objects.Select(o => o.StorageClass.Value));

        // A copy onto itself that changes only the class is allowed; one that changes nothing is not.
        await s3.CopyObjectAsync(new CopyObjectRequest
        {
            SourceBucket = "classes", SourceKey = "cold", DestinationBucket = "classes", DestinationKey = "cold", StorageClass = S3StorageClass.StandardInfrequentAccess,
        });
        Assert.Equal(S3StorageClass.StandardInfrequentAccess, (await s3.GetObjectMetadataAsync("classes", "cold")).StorageClass);
        Assert.Equal("c", (await s3.GetBytesAsync("classes", "cold")).Utf8());
        await RefusedAsync(() => s3.CopyObjectAsync(new CopyObjectRequest { SourceBucket = "classes", SourceKey = "cold", DestinationBucket = "classes", DestinationKey = "cold" }),
            HttpStatusCode.BadRequest, "InvalidRequest");
        // A copy elsewhere is STANDARD unless the request names a class.
        await s3.CopyObjectAsync(new CopyObjectRequest { SourceBucket = "classes", SourceKey = "cold", DestinationBucket = "classes", DestinationKey = "copied" });
        Assert.Null((await s3.GetObjectMetadataAsync("classes", "copied")).StorageClass);

        // Versions keep their own class.
        await s3.PutBucketVersioningAsync(new PutBucketVersioningRequest { BucketName = "classes", VersioningConfig = new S3BucketVersioningConfig { Status = VersionStatus.Enabled } });
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "classes", Key = "plain", ContentBody = "p2", StorageClass = S3StorageClass.DeepArchive });
        var versions = (await s3.ListVersionsAsync(new ListVersionsRequest { BucketName = "classes", Prefix = "plain" })).Versions;
        Assert.Equal(["DEEP_ARCHIVE", "STANDARD"], versions.Select(v => v.StorageClass.Value));

        // Multipart: the class given at creation, shown by ListMultipartUploads and ListParts.
        var init = await s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = "classes", Key = "mp", StorageClass = S3StorageClass.OneZoneInfrequentAccess });
        var part = await s3.UploadPartAsync(new UploadPartRequest { BucketName = "classes", Key = "mp", UploadId = init.UploadId, PartNumber = 1, InputStream = new MemoryStream([1]) });
        Assert.Equal("ONEZONE_IA", (await s3.ListMultipartUploadsAsync("classes")).MultipartUploads.Single().StorageClass.Value);
        Assert.Equal("ONEZONE_IA", (await s3.ListPartsAsync(new ListPartsRequest { BucketName = "classes", Key = "mp", UploadId = init.UploadId })).StorageClass);
        await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = "classes", Key = "mp", UploadId = init.UploadId, PartETags = [new PartETag(1, part.ETag)] });
        Assert.Equal(S3StorageClass.OneZoneInfrequentAccess, (await s3.GetObjectMetadataAsync("classes", "mp")).StorageClass);

        // Every class S3 documents is accepted; any other name is InvalidStorageClass, and nothing is written.
        foreach (var name in new[] { "REDUCED_REDUNDANCY", "INTELLIGENT_TIERING", "GLACIER_IR", "OUTPOSTS", "EXPRESS_ONEZONE" })
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = "classes", Key = "each/" + name, ContentBody = name, StorageClass = new S3StorageClass(name) });
        await RefusedAsync(() => s3.PutObjectAsync(new PutObjectRequest { BucketName = "classes", Key = "bad", ContentBody = "x", StorageClass = new S3StorageClass("COLD_AS_ICE") }),
            HttpStatusCode.BadRequest, "InvalidStorageClass");
        await RefusedAsync(() => s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = "classes", Key = "bad", StorageClass = new S3StorageClass("GLACIER_DEEP") }),
            HttpStatusCode.BadRequest, "InvalidStorageClass");
        await RefusedAsync(() => s3.GetObjectMetadataAsync("classes", "bad"), HttpStatusCode.NotFound, "NotFound");
    }

    internal static async Task AttributesScenarioAsync(GatewayServer gateway)
    {
        using var s3 = gateway.CreateClient();
        await s3.PutBucketAsync("attrs");
        // A multipart object with CRC32 checksums: 5 MiB + 5 MiB + 5 MiB + 7 bytes.
        var body = Pattern(15 * MiB + 7, 3);
        var init = await s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest
        {
            BucketName = "attrs", Key = "mp", ChecksumAlgorithm = ChecksumAlgorithm.CRC32, StorageClass = S3StorageClass.StandardInfrequentAccess,
        });
        var etags = new List<PartETag>();
        for (var n = 1; n <= 4; n++)
        {
            var offset = (n - 1) * 5 * MiB;
            var r = await s3.UploadPartAsync(new UploadPartRequest
            {
                BucketName = "attrs", Key = "mp", UploadId = init.UploadId, PartNumber = n, ChecksumAlgorithm = ChecksumAlgorithm.CRC32,
                InputStream = new MemoryStream(body, offset, Math.Min(5 * MiB, body.Length - offset)),
            });
            etags.Add(new PartETag(n, r.ETag) { ChecksumCRC32 = r.ChecksumCRC32 });
        }
        var done = await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = "attrs", Key = "mp", UploadId = init.UploadId, PartETags = etags });

        var all = await s3.GetObjectAttributesAsync(new GetObjectAttributesRequest
        {
            BucketName = "attrs", Key = "mp",
            ObjectAttributes = [ObjectAttributes.ETag, ObjectAttributes.Checksum, ObjectAttributes.ObjectParts, ObjectAttributes.StorageClass, ObjectAttributes.ObjectSize],
            MaxParts = 2, PartNumberMarker = 1,
        });
        Assert.Equal(done.ETag.Trim('"'), all.ETag.Trim('"'));
        Assert.Equal(body.Length, all.ObjectSize);
        Assert.Equal(S3StorageClass.StandardInfrequentAccess, all.StorageClass);
        var checksummed = await s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = "attrs", Key = "mp", ChecksumMode = ChecksumMode.ENABLED });
        Assert.EndsWith("-4", all.Checksum.ChecksumCRC32);
        Assert.Equal(checksummed.ChecksumCRC32, all.Checksum.ChecksumCRC32);
        Assert.Equal(ChecksumType.COMPOSITE, all.Checksum.ChecksumType);
        Assert.Equal(4, all.ObjectParts.TotalPartsCount);
        Assert.True(all.ObjectParts.IsTruncated);
        Assert.Equal(2, all.ObjectParts.MaxParts);
        Assert.Equal(3, all.ObjectParts.NextPartNumberMarker);
        Assert.Equal([(2, 5L * MiB, etags[1].ChecksumCRC32), (3, 5L * MiB, etags[2].ChecksumCRC32)],
            all.ObjectParts.Parts.Select(p => (p.PartNumber ?? 0, p.Size ?? 0, p.ChecksumCRC32)));
        var last = await s3.GetObjectAttributesAsync(new GetObjectAttributesRequest
        {
            BucketName = "attrs", Key = "mp", ObjectAttributes = [ObjectAttributes.ObjectParts], PartNumberMarker = 3,
        });
        Assert.False(last.ObjectParts.IsTruncated);
        Assert.Equal([(4, 7L)], last.ObjectParts.Parts.Select(p => (p.PartNumber ?? 0, p.Size ?? 0)));
        Assert.Null(last.ETag);

        // partNumber on GET and HEAD: the part's bytes, its range, the object's ETag and part count.
        using (var p4 = await s3.GetObjectAsync(new GetObjectRequest { BucketName = "attrs", Key = "mp", PartNumber = 4 }))
        {
            Assert.Equal(body[(15 * MiB)..], await ReadAllAsync(p4.ResponseStream));
            Assert.Equal((HttpStatusCode.PartialContent, 4, done.ETag), (p4.HttpStatusCode, p4.PartsCount, p4.ETag));
            Assert.Equal($"bytes {15 * MiB}-{body.Length - 1}/{body.Length}", p4.ContentRange);
        }
        var h2 = await s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = "attrs", Key = "mp", PartNumber = 2 });
        Assert.Equal((5L * MiB, 4), (h2.ContentLength, h2.PartsCount));
        await RefusedAsync(() => s3.GetObjectAsync(new GetObjectRequest { BucketName = "attrs", Key = "mp", PartNumber = 5 }),
            HttpStatusCode.RequestedRangeNotSatisfiable, "InvalidPartNumber");
        using (var both = await SendSignedAsync(gateway, HttpMethod.Get, "/attrs/mp?partNumber=1", headers: [("Range", "bytes=0-1")]))
            Assert.Equal((HttpStatusCode.BadRequest, "InvalidRequest"), (both.StatusCode, await ErrorCodeAsync(both)));

        // A single-part object: part 1 is the whole object, without a part count; no ObjectParts.
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "attrs", Key = "single", ContentBody = "twelve bytes", ChecksumAlgorithm = ChecksumAlgorithm.SHA256 });
        using (var whole = await SendSignedAsync(gateway, HttpMethod.Get, "/attrs/single?partNumber=1"))
        {
            Assert.Equal(HttpStatusCode.PartialContent, whole.StatusCode);
            Assert.Equal("twelve bytes", await whole.Content.ReadAsStringAsync());
            Assert.False(whole.Headers.Contains("x-amz-mp-parts-count"));
        }
        await RefusedAsync(() => s3.GetObjectAsync(new GetObjectRequest { BucketName = "attrs", Key = "single", PartNumber = 2 }),
            HttpStatusCode.RequestedRangeNotSatisfiable, "InvalidPartNumber");
        var single = await s3.GetObjectAttributesAsync(new GetObjectAttributesRequest
        {
            BucketName = "attrs", Key = "single", ObjectAttributes = [ObjectAttributes.ObjectParts, ObjectAttributes.Checksum, ObjectAttributes.ObjectSize, ObjectAttributes.StorageClass],
        });
        Assert.Null(single.ObjectParts);
        Assert.Equal((12L, "STANDARD"), (single.ObjectSize, single.StorageClass?.Value));
        Assert.NotNull(single.Checksum.ChecksumSHA256);

        // Versions: each answers its own attributes; the header is required.
        await s3.PutBucketVersioningAsync(new PutBucketVersioningRequest { BucketName = "attrs", VersioningConfig = new S3BucketVersioningConfig { Status = VersionStatus.Enabled } });
        var v1 = (await s3.PutObjectAsync(new PutObjectRequest { BucketName = "attrs", Key = "single", ContentBody = "v1" })).VersionId;
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "attrs", Key = "single", ContentBody = "version 2" });
        var old = await s3.GetObjectAttributesAsync(new GetObjectAttributesRequest { BucketName = "attrs", Key = "single", VersionId = v1, ObjectAttributes = [ObjectAttributes.ObjectSize] });
        Assert.Equal((2L, v1), (old.ObjectSize, old.VersionId));
        using (var missing = await SendSignedAsync(gateway, HttpMethod.Get, "/attrs/single?attributes"))
            Assert.Equal((HttpStatusCode.BadRequest, "InvalidArgument"), (missing.StatusCode, await ErrorCodeAsync(missing)));
        using (var unknown = await SendSignedAsync(gateway, HttpMethod.Get, "/attrs/single?attributes", headers: [("x-amz-object-attributes", "ETag,Colour")]))
            Assert.Equal((HttpStatusCode.BadRequest, "InvalidArgument"), (unknown.StatusCode, await ErrorCodeAsync(unknown)));
    }

    /// <summary>The tag value is nowhere in clear: not in the catalog, the key store or the local blobs (every file of the data directory).</summary>
    private static void AssertNotInFiles(string directory)
    {
        var needle = Encoding.UTF8.GetBytes(SecretTagValue);
        foreach (var file in AllFiles(directory))
        {
            byte[] bytes;
            try { bytes = File.ReadAllBytes(file); } catch (IOException) { continue; }
            Assert.True(bytes.AsSpan().IndexOf(needle) < 0, $"The tag value is in clear in {file}.");
        }
    }

    [Fact]
    public async Task Tagging_over_local_disk_and_tag_values_are_nowhere_in_clear()
    {
        await using var gateway = await GatewayServer.StartAsync();
        await TaggingScenarioAsync(gateway);
        AssertNotInFiles(gateway.DataDirectory);
    }

    [Fact]
    public async Task Storage_classes_over_local_disk()
    {
        await using var gateway = await GatewayServer.StartAsync();
        await StorageClassScenarioAsync(gateway);
    }

    [Fact]
    public async Task Attributes_and_part_reads_over_local_disk()
    {
        await using var gateway = await GatewayServer.StartAsync();
        await AttributesScenarioAsync(gateway);
    }

    [Fact]
    public async Task Tagging_storage_classes_and_attributes_over_moto_with_no_tag_value_at_the_backend()
    {
        using var moto = new MotoServer();
        await moto.StartAsync();
        await using var gateway = await GatewayServer.StartAsync(s3Backend: moto);
        await TaggingScenarioAsync(gateway);
        await StorageClassScenarioAsync(gateway);
        await AttributesScenarioAsync(gateway);
        AssertNotInFiles(gateway.DataDirectory);

        // Every blob the backend holds, with its metadata and tags, read with the provider's own API.
        using var raw = moto.CreateClient();
        var needle = Encoding.UTF8.GetBytes(SecretTagValue);
        var seen = 0;
        foreach (var bucket in (await raw.ListBucketsAsync()).Buckets ?? [])
        {
            string? token = null;
            do
            {
                var page = await raw.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket.BucketName, ContinuationToken = token });
                foreach (var o in page.S3Objects ?? [])
                {
                    using var got = await raw.GetObjectAsync(bucket.BucketName, o.Key);
                    var text = o.Key + string.Join("", got.Metadata.Keys.Select(k => k + got.Metadata[k]));
                    Assert.DoesNotContain(SecretTagValue, text);
                    Assert.True((await ReadAllAsync(got.ResponseStream)).AsSpan().IndexOf(needle) < 0);
                    Assert.Empty((await raw.GetObjectTaggingAsync(new GetObjectTaggingRequest { BucketName = bucket.BucketName, Key = o.Key })).Tagging ?? []);
                    seen++;
                }
                token = page.IsTruncated == true ? page.NextContinuationToken : null;
            } while (token is not null);
        }
        Assert.True(seen > 10, $"only {seen} blobs at the backend");
    }
}
