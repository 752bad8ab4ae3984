using System.Net;
using System.Text;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.Objects.Catalog;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>S3 versioning through AWSSDK.S3 against the in-process gateway, as the S3 API reference documents it.</summary>
public sealed class VersioningSdkTests : IAsyncLifetime
{
    private GatewayServer _gateway = null!;
    private AmazonS3Client _s3 = null!;

    public async Task InitializeAsync()
    {
        _gateway = await GatewayServer.StartAsync();
        _s3 = _gateway.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _s3.Dispose();
        await _gateway.DisposeAsync();
    }

    private Task EnableAsync(string bucket, VersionStatus status) =>
        _s3.PutBucketVersioningAsync(new PutBucketVersioningRequest { BucketName = bucket, VersioningConfig = new S3BucketVersioningConfig { Status = status } });

    private async Task<string> PutAsync(string bucket, string key, string body) =>
        (await _s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, ContentBody = body })).VersionId;

    private async Task<string> GetTextAsync(string bucket, string key, string? versionId = null)
    {
        using var response = await _s3.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = key, VersionId = versionId });
        return Encoding.UTF8.GetString(await ReadAllAsync(response.ResponseStream));
    }

    private async Task<List<S3ObjectVersion>> VersionsAsync(string bucket, string? prefix = null) =>
        (await _s3.ListVersionsAsync(new ListVersionsRequest { BucketName = bucket, Prefix = prefix })).Versions ?? [];

    [Fact]
    public async Task A_bucket_never_versioned_has_an_empty_configuration_and_lists_its_objects_as_null_versions()
    {
        await _s3.PutBucketAsync("plain");
        Assert.Null(await PutAsync("plain", "k", "one"));
        // The SDK reads an empty VersioningConfiguration as "Off".
        Assert.Equal(VersionStatus.Off, (await _s3.GetBucketVersioningAsync(new GetBucketVersioningRequest { BucketName = "plain" })).VersioningConfig.Status);
        await PutAsync("plain", "k", "two");
        var versions = await VersionsAsync("plain");
        var only = Assert.Single(versions);
        Assert.Equal(("k", "null", true, false, 3L), (only.Key, only.VersionId, only.IsLatest, only.IsDeleteMarker ?? false, only.Size));
        Assert.Equal("two", await GetTextAsync("plain", "k", "null"));
    }

    [Fact]
    public async Task Versions_are_kept_read_by_id_hidden_by_a_delete_marker_and_restored_by_deleting_it()
    {
        await _s3.PutBucketAsync("vers");
        await PutAsync("vers", "k", "null body");
        await EnableAsync("vers", VersionStatus.Enabled);
        Assert.Equal(VersionStatus.Enabled, (await _s3.GetBucketVersioningAsync(new GetBucketVersioningRequest { BucketName = "vers" })).VersioningConfig.Status);
        var v1 = await PutAsync("vers", "k", "first");
        var v2 = await PutAsync("vers", "k", "second");
        Assert.NotNull(v1);
        Assert.NotEqual(v1, v2);

        Assert.Equal("second", await GetTextAsync("vers", "k"));
        Assert.Equal("first", await GetTextAsync("vers", "k", v1));
        Assert.Equal("null body", await GetTextAsync("vers", "k", "null"));
        var head = await _s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = "vers", Key = "k", VersionId = v1 });
        Assert.Equal((5L, v1), (head.ContentLength, head.VersionId));
        Assert.Equal([v2, v1, "null"], (await VersionsAsync("vers")).Select(v => v.VersionId));

        var deleted = await _s3.DeleteObjectAsync("vers", "k");
        Assert.Equal("true", deleted.DeleteMarker);
        var marker = deleted.VersionId;
        var missing = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => GetTextAsync("vers", "k"));
        Assert.Equal((HttpStatusCode.NotFound, "NoSuchKey"), (missing.StatusCode, missing.ErrorCode));
        var named = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => GetTextAsync("vers", "k", marker));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, named.StatusCode);
        var listed = await VersionsAsync("vers");
        Assert.Equal([(marker, true, true), (v2, false, false), (v1, false, false), ("null", false, false)],
            listed.Select(v => (v.VersionId, v.IsDeleteMarker ?? false, v.IsLatest ?? false)));
        Assert.Empty((await _s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "vers" })).S3Objects ?? []);

        // Deleting the marker brings "second" back; deleting a version removes it for good.
        var unmarked = await _s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = "vers", Key = "k", VersionId = marker });
        Assert.Equal(("true", marker), (unmarked.DeleteMarker, unmarked.VersionId));
        Assert.Equal("second", await GetTextAsync("vers", "k"));
        await _s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = "vers", Key = "k", VersionId = v1 });
        var gone = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => GetTextAsync("vers", "k", v1));
        Assert.Equal((HttpStatusCode.NotFound, "NoSuchVersion"), (gone.StatusCode, gone.ErrorCode));
        var malformed = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => GetTextAsync("vers", "k", "not-a-version"));
        Assert.Equal((HttpStatusCode.BadRequest, "InvalidArgument"), (malformed.StatusCode, malformed.ErrorCode));
    }

    [Fact]
    public async Task Every_version_is_its_own_encrypted_object_and_garbage_collection_keeps_noncurrent_versions()
    {
        await _s3.PutBucketAsync("enc");
        await EnableAsync("enc", VersionStatus.Enabled);
        var v1 = await PutAsync("enc", "k", "first");
        var v2 = await PutAsync("enc", "k", "second");
        await using var catalog = Catalog(_gateway);
        var (r1, r2) = ((await catalog.GetVersionAsync("enc", "k", v1))!.Record!, (await catalog.GetVersionAsync("enc", "k", v2))!.Record!);
        Assert.NotEqual(r1.Key.Wrapped, r2.Key.Wrapped);
        Assert.NotEqual(r1.Parts[0].Blob, r2.Parts[0].Blob);
        await _s3.DeleteObjectAsync("enc", "k"); // a marker: frees nothing
        Assert.DoesNotContain(r1.Parts[0].Blob, await catalog.GarbageOlderThanAsync(DateTimeOffset.MaxValue));
        Assert.DoesNotContain(r2.Parts[0].Blob, await catalog.GarbageOlderThanAsync(DateTimeOffset.MaxValue));
        await _s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = "enc", Key = "k", VersionId = v1 });
        Assert.Contains(r1.Parts[0].Blob, await catalog.GarbageOlderThanAsync(DateTimeOffset.MaxValue));
        Assert.DoesNotContain(r2.Parts[0].Blob, await catalog.GarbageOlderThanAsync(DateTimeOffset.MaxValue));
        Assert.Equal("second", await GetTextAsync("enc", "k", v2));
    }

    [Fact]
    public async Task A_suspended_bucket_writes_and_deletes_the_null_version_and_keeps_the_others()
    {
        await _s3.PutBucketAsync("susp");
        await EnableAsync("susp", VersionStatus.Enabled);
        var v1 = await PutAsync("susp", "k", "versioned");
        await EnableAsync("susp", VersionStatus.Suspended);
        Assert.Equal(VersionStatus.Suspended, (await _s3.GetBucketVersioningAsync(new GetBucketVersioningRequest { BucketName = "susp" })).VersioningConfig.Status);
        await PutAsync("susp", "k", "null one");
        await PutAsync("susp", "k", "null two");
        Assert.Equal([("null", true), (v1, false)], (await VersionsAsync("susp")).Select(v => (v.VersionId, v.IsLatest ?? false)));
        Assert.Equal("null two", await GetTextAsync("susp", "k"));
        var deleted = await _s3.DeleteObjectAsync("susp", "k");
        Assert.Equal(("true", "null"), (deleted.DeleteMarker, deleted.VersionId));
        var listed = await VersionsAsync("susp");
        Assert.Equal([("null", true), (v1, false)], listed.Select(v => (v.VersionId, v.IsDeleteMarker ?? false)));
        Assert.Equal("versioned", await GetTextAsync("susp", "k", v1));
    }

    [Fact]
    public async Task Copy_and_multipart_completion_make_versions_and_a_copy_can_read_an_older_version()
    {
        await _s3.PutBucketAsync("copyv");
        await EnableAsync("copyv", VersionStatus.Enabled);
        var v1 = await PutAsync("copyv", "src", "old");
        await PutAsync("copyv", "src", "new");
        var copy = await _s3.CopyObjectAsync(new CopyObjectRequest
        {
            SourceBucket = "copyv", SourceKey = "src", SourceVersionId = v1, DestinationBucket = "copyv", DestinationKey = "src",
        });
        Assert.Equal(v1, copy.SourceVersionId);
        Assert.NotNull(copy.VersionId);
        Assert.Equal("old", await GetTextAsync("copyv", "src")); // restored as the newest version
        Assert.Equal(3, (await VersionsAsync("copyv")).Count);

        var init = await _s3.InitiateMultipartUploadAsync("copyv", "mp");
        var part = await _s3.UploadPartAsync(new UploadPartRequest
        {
            BucketName = "copyv", Key = "mp", UploadId = init.UploadId, PartNumber = 1, InputStream = new MemoryStream(Encoding.UTF8.GetBytes("parts")),
        });
        var done = await _s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
        {
            BucketName = "copyv", Key = "mp", UploadId = init.UploadId, PartETags = [new PartETag(1, part.ETag)],
        });
        Assert.NotNull(done.VersionId);
        Assert.Equal(done.VersionId, Assert.Single(await VersionsAsync("copyv", "mp")).VersionId);
    }

    [Fact]
    public async Task Delete_objects_removes_named_versions_and_makes_markers_for_unnamed_keys()
    {
        await _s3.PutBucketAsync("multi");
        await EnableAsync("multi", VersionStatus.Enabled);
        var a1 = await PutAsync("multi", "a", "1");
        var a2 = await PutAsync("multi", "a", "2");
        await PutAsync("multi", "b", "1");
        var result = await _s3.DeleteObjectsAsync(new DeleteObjectsRequest
        {
            BucketName = "multi",
            Objects = [new KeyVersion { Key = "a", VersionId = a1 }, new KeyVersion { Key = "b" }],
        });
        Assert.Equal(2, result.DeletedObjects.Count);
        var b = result.DeletedObjects.Single(d => d.Key == "b");
        Assert.True(b.DeleteMarker);
        Assert.NotNull(b.DeleteMarkerVersionId);
        Assert.Equal(a1, result.DeletedObjects.Single(d => d.Key == "a").VersionId);
        Assert.Equal([("a", a2, false), ("b", b.DeleteMarkerVersionId, true)],
            (await VersionsAsync("multi")).Where(v => v.IsLatest == true).Select(v => (v.Key, v.VersionId, v.IsDeleteMarker ?? false)));
    }

    [Fact]
    public async Task Version_listings_page_with_key_and_version_id_markers()
    {
        await _s3.PutBucketAsync("pages");
        await EnableAsync("pages", VersionStatus.Enabled);
        var expected = new List<(string, string)>();
        foreach (var key in new[] { "a b", "dir/x", "dir/y", "z" })
        {
            var ids = new List<string>();
            for (var i = 0; i < 3; i++) ids.Add(await PutAsync("pages", key, $"{key}{i}"));
            ids.Reverse();
            expected.AddRange(ids.Select(id => (key, id)));
        }
        var seen = new List<(string, string)>();
        var request = new ListVersionsRequest { BucketName = "pages", MaxKeys = 5 };
        while (true)
        {
            var page = await _s3.ListVersionsAsync(request);
            seen.AddRange(page.Versions.Select(v => (v.Key, v.VersionId)));
            if (page.IsTruncated != true) break;
            (request.KeyMarker, request.VersionIdMarker) = (page.NextKeyMarker, page.NextVersionIdMarker);
        }
        Assert.Equal(expected, seen);
        var rolled = await _s3.ListVersionsAsync(new ListVersionsRequest { BucketName = "pages", Delimiter = "/" });
        Assert.Equal(["dir/"], rolled.CommonPrefixes);
        Assert.Equal(6, rolled.Versions.Count);
    }

    [Fact]
    public async Task Unimplemented_subresources_answer_not_implemented_and_never_another_operation()
    {
        await _s3.PutBucketAsync("routes");
        await PutAsync("routes", "k", "body");
        foreach (var (method, target) in new[]
        {
            ("PUT", "/routes?cors"), ("PUT", "/routes?replication"), ("GET", "/routes?analytics"), ("DELETE", "/routes?website"),
            ("PUT", "/routes?notification"), ("GET", "/routes?logging"), ("PUT", "/routes/k?renameObject"), ("GET", "/routes/k?torrent"),
            ("POST", "/routes?policy"), ("DELETE", "/routes/k?acl"),
            ("POST", "/routes/k?select"), ("POST", "/routes/k?restore"),
        })
        {
            var response = await RawHttp.SendSignedAsync(_gateway, method, target, Encoding.UTF8.GetBytes("<x/>"));
            Assert.True(response.Status == 501 && response.Has("NotImplemented"), $"{method} {target}: {response.Status} {response.Body}");
        }
        // Neither the bucket nor the object was touched by any of them.
        Assert.Equal("body", await GetTextAsync("routes", "k"));

        var mfa = await RawHttp.SendSignedAsync(_gateway, "PUT", "/routes?versioning",
            Encoding.UTF8.GetBytes("<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>"));
        Assert.True(mfa.Status == 501 && mfa.Has("NotImplemented") && mfa.Body.Contains("MFA delete", StringComparison.Ordinal), mfa.Body);
        var bad = await RawHttp.SendSignedAsync(_gateway, "PUT", "/routes?versioning",
            Encoding.UTF8.GetBytes("<VersioningConfiguration><Status>On</Status></VersioningConfiguration>"));
        Assert.True(bad.Status == 400 && bad.Has("MalformedXML"), bad.Body);
        Assert.Equal(VersionStatus.Off, (await _s3.GetBucketVersioningAsync(new GetBucketVersioningRequest { BucketName = "routes" })).VersioningConfig.Status);
    }
}
