using System.Text.Json;
using Coffre.TestSupport;
using static Coffre.Server.Tests.Gateway.Clients.ClientTestFiles;

namespace Coffre.Server.Tests.Gateway.Clients;

/// <summary>
/// The AWS CLI (`aws s3` and `aws s3api`) against a real gateway: what a user of the CLI does every day, asserted
/// on the bytes and headers that come back. One fresh gateway per test.
/// </summary>
public abstract class AwsCliTests() : GatewayClientTests("coffre-aws-")
{

    /// <summary>The aws executable, or null to pass without running (an optional client that is not installed).</summary>
    protected abstract string? Aws { get; }

    /// <summary>
    /// The CLI v2 reads the source's headers, metadata and tags and sets them on a multipart copy; the v1 CLI
    /// does not (its multipart copy gets a content type guessed from the name and no metadata), whatever the server.
    /// </summary>
    protected virtual bool CopiesPropertiesOnMultipartCopy => true;

    protected Task<CliResult> Run(params string[] args) => Cli.AwsAsync(Aws!, args);
    protected async Task<CliResult> Ok(params string[] args) => (await Run(args)).EnsureSuccess();

    protected async Task MakeBucket(string bucket)
    {
        var mb = await Ok("s3", "mb", $"s3://{bucket}");
        Assert.Contains($"make_bucket: {bucket}", mb.Stdout);
    }

    [Fact]
    public async Task Put_and_get_keep_the_bytes_multipart_included_and_ranges_cross_part_boundaries()
    {
        if (Aws is null) return;
        await MakeBucket("roundtrip");
        // One recursive cp each way: four transfers in one CLI run, the two large ones multipart.
        await Ok("s3", "cp", "--recursive", BodiesDirectory, "s3://roundtrip/dir/", "--only-show-errors");
        var down = ScratchDirectory();
        await Ok("s3", "cp", "--recursive", "s3://roundtrip/dir/", down, "--only-show-errors");
        foreach (var (name, _) in Bodies)
            AssertSameFile(PathOf(name), Path.Combine(down, name));

        var listed = (await Ok("s3api", "list-objects-v2", "--bucket", "roundtrip", "--prefix", "dir/", "--output", "json")).Json()
            .GetProperty("Contents").EnumerateArray().ToDictionary(o => o.GetProperty("Key").GetString()!);
        foreach (var (name, size) in Bodies)
        {
            var entry = listed[$"dir/{name}"];
            Assert.Equal(size, entry.GetProperty("Size").GetInt64());
            // Both CLIs switch to multipart at 8 MiB with 8 MiB parts: the ETag says how many parts arrived.
            var etag = entry.GetProperty("ETag").GetString()!;
            Assert.Matches(size switch { 10 * MiB => "^\"[0-9a-f]{32}-2\"$", 60 * MiB => "^\"[0-9a-f]{32}-8\"$", _ => "^\"[0-9a-f]{32}\"$" }, etag);
            if (size < 8 * MiB) Assert.Equal($"\"{Md5(PathOf(name))}\"", etag);
        }
        var head = (await Ok("s3api", "head-object", "--bucket", "roundtrip", "--key", "dir/sixty.bin", "--output", "json")).Json();
        Assert.Equal(60 * MiB, head.GetProperty("ContentLength").GetInt64());
        Assert.Equal(listed["dir/sixty.bin"].GetProperty("ETag").GetString(), head.GetProperty("ETag").GetString());
        Assert.Equal("aws:kms", head.GetProperty("ServerSideEncryption").GetString());
        // As in S3, the part count comes only with a request for a part.
        Assert.False(head.TryGetProperty("PartsCount", out _));
        var part = (await Ok("s3api", "head-object", "--bucket", "roundtrip", "--key", "dir/sixty.bin", "--part-number", "2", "--output", "json")).Json();
        Assert.Equal(8, part.GetProperty("PartsCount").GetInt32());
        Assert.Equal(8 * MiB, part.GetProperty("ContentLength").GetInt64());

        // Ranged reads: inside a part, across the boundary of parts 1 and 2 (8 MiB), suffix, open-ended.
        var sixty = PathOf("sixty.bin");
        foreach (var (range, offset, count) in new (string, long, int)[]
                 {
                     ($"bytes={8 * MiB - 10}-{8 * MiB + 9}", 8 * MiB - 10, 20),
                     ($"bytes={24 * MiB - 3}-{40 * MiB + 2}", 24 * MiB - 3, 16 * MiB + 6),
                     ("bytes=-5", 60 * MiB - 5, 5),
                 })
        {
            var outFile = Path.Combine(down, "range.out");
            var got = (await Ok("s3api", "get-object", "--bucket", "roundtrip", "--key", "dir/sixty.bin", "--range", range, outFile, "--output", "json")).Json();
            Assert.Equal(count, got.GetProperty("ContentLength").GetInt64());
            Assert.Equal($"bytes {offset}-{offset + count - 1}/{60 * MiB}", got.GetProperty("ContentRange").GetString());
            Assert.Equal(Slice(sixty, offset, count), await File.ReadAllBytesAsync(outFile));
        }

        // A range past the end is 416 InvalidRange.
        var bad = await Run("s3api", "get-object", "--bucket", "roundtrip", "--key", "dir/one.bin", "--range", "bytes=5-9", Path.Combine(down, "bad.out"));
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("InvalidRange", bad.Stderr);

        var missing = await Run("s3api", "head-object", "--bucket", "roundtrip", "--key", "nope");
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("404", missing.Stderr);
    }

    [Fact]
    public async Task Metadata_round_trips_and_copies_keep_or_replace_it()
    {
        if (Aws is null) return;
        await MakeBucket("meta-src");
        await MakeBucket("meta-dst");
        await Ok("s3", "cp", PathOf("one.bin"), "s3://meta-src/m.bin", "--only-show-errors", "--content-type", "text/x-test",
            "--metadata", "colour=blue,size=xl", "--cache-control", "max-age=60", "--content-disposition", "attachment; filename=\"a b.txt\"");
        var head = (await Ok("s3api", "head-object", "--bucket", "meta-src", "--key", "m.bin", "--output", "json")).Json();
        AssertMetadata(head, "text/x-test", new() { ["colour"] = "blue", ["size"] = "xl" });
        Assert.Equal("max-age=60", head.GetProperty("CacheControl").GetString());
        Assert.Equal("attachment; filename=\"a b.txt\"", head.GetProperty("ContentDisposition").GetString());
        Assert.Equal(1, head.GetProperty("ContentLength").GetInt64());
        // v2 prints ISO 8601, v1 the HTTP date as received.
        Assert.True(DateTimeOffset.UtcNow - DateTimeOffset.Parse(head.GetProperty("LastModified").GetString()!, System.Globalization.CultureInfo.InvariantCulture) < TimeSpan.FromMinutes(5));

        // aws s3 cp between buckets: a plain CopyObject for a small object, a multipart copy (UploadPartCopy) above 8 MiB.
        await Ok("s3", "cp", "s3://meta-src/m.bin", "s3://meta-dst/copied.bin", "--only-show-errors");
        var copied = (await Ok("s3api", "head-object", "--bucket", "meta-dst", "--key", "copied.bin", "--output", "json")).Json();
        AssertMetadata(copied, "text/x-test", new() { ["colour"] = "blue", ["size"] = "xl" });
        await Ok("s3", "cp", PathOf("ten.bin"), "s3://meta-src/ten.bin", "--only-show-errors", "--content-type", "application/x-ten", "--metadata", "k=ten");
        await Ok("s3", "cp", "s3://meta-src/ten.bin", "s3://meta-dst/ten-copy.bin", "--only-show-errors");
        var down = ScratchDirectory();
        await Ok("s3", "cp", "s3://meta-dst/ten-copy.bin", Path.Combine(down, "ten"), "--only-show-errors");
        AssertSameFile(PathOf("ten.bin"), Path.Combine(down, "ten"));
        if (CopiesPropertiesOnMultipartCopy)
        {
            var tenCopy = (await Ok("s3api", "head-object", "--bucket", "meta-dst", "--key", "ten-copy.bin", "--output", "json")).Json();
            AssertMetadata(tenCopy, "application/x-ten", new() { ["k"] = "ten" });
        }

        // copy-object with REPLACE: the new metadata only, same bytes.
        var copy = (await Ok("s3api", "copy-object", "--copy-source", "meta-src/m.bin", "--bucket", "meta-dst", "--key", "replaced.bin",
            "--metadata-directive", "REPLACE", "--metadata", "k=v", "--content-type", "application/x-new", "--output", "json")).Json();
        Assert.Equal($"\"{Md5(PathOf("one.bin"))}\"", copy.GetProperty("CopyObjectResult").GetProperty("ETag").GetString());
        var replaced = (await Ok("s3api", "head-object", "--bucket", "meta-dst", "--key", "replaced.bin", "--output", "json")).Json();
        AssertMetadata(replaced, "application/x-new", new() { ["k"] = "v" });
        Assert.False(replaced.TryGetProperty("CacheControl", out _));
        await Ok("s3", "cp", "s3://meta-dst/replaced.bin", Path.Combine(down, "replaced"), "--only-show-errors");
        AssertSameFile(PathOf("one.bin"), Path.Combine(down, "replaced"));

        // In place with REPLACE is allowed; with COPY S3 refuses it.
        await Ok("s3api", "copy-object", "--copy-source", "meta-dst/replaced.bin", "--bucket", "meta-dst", "--key", "replaced.bin",
            "--metadata-directive", "REPLACE", "--metadata", "k=w");
        AssertMetadata((await Ok("s3api", "head-object", "--bucket", "meta-dst", "--key", "replaced.bin", "--output", "json")).Json(), "binary/octet-stream", new() { ["k"] = "w" });
        var self = await Run("s3api", "copy-object", "--copy-source", "meta-dst/replaced.bin", "--bucket", "meta-dst", "--key", "replaced.bin");
        Assert.NotEqual(0, self.ExitCode);
        Assert.Contains("InvalidRequest", self.Stderr);
    }

    [Fact]
    public async Task Rm_recursive_and_delete_objects_remove_exactly_what_was_named()
    {
        if (Aws is null) return;
        await MakeBucket("deletes");
        await Ok("s3", "sync", TreeDirectory, "s3://deletes/t", "--only-show-errors");

        await Ok("s3", "rm", "s3://deletes/t/x1", "--only-show-errors");
        var rm = await Ok("s3", "rm", "--recursive", "s3://deletes/t/a/");
        Assert.Equal(11, rm.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.StartsWith("delete: ", StringComparison.Ordinal)));
        var deleted = (await Ok("s3api", "delete-objects", "--bucket", "deletes", "--output", "json", "--delete",
            """{"Objects":[{"Key":"t/x14"},{"Key":"t/e f/x+10"},{"Key":"never-existed"}]}""")).Json();
        Assert.Equal(["t/x14", "t/e f/x+10", "never-existed"], deleted.GetProperty("Deleted").EnumerateArray().Select(d => d.GetProperty("Key").GetString()!));
        Assert.False(deleted.TryGetProperty("Errors", out _));
        await Ok("s3api", "delete-objects", "--bucket", "deletes", "--delete", """{"Objects":[{"Key":"t/d/x7"}],"Quiet":true}""");

        var left = (await Ok("s3api", "list-objects-v2", "--bucket", "deletes", "--output", "json")).Json();
        Assert.Equal(["t/d/x15", "t/d/x8", "t/e f/x 9", "t/e f/x%20", "t/x18"], Keys(left));

        var notEmpty = await Run("s3", "rb", "s3://deletes");
        Assert.NotEqual(0, notEmpty.ExitCode);
        Assert.Contains("BucketNotEmpty", notEmpty.Stderr);
        await Ok("s3", "rb", "--force", "s3://deletes");
        Assert.DoesNotContain("deletes", (await Ok("s3", "ls")).Stdout);
    }

    protected static string[] Keys(JsonElement listing) =>
        listing.TryGetProperty("Contents", out var c) ? c.EnumerateArray().Select(o => o.GetProperty("Key").GetString()!).ToArray() : [];

    protected static void AssertMetadata(JsonElement head, string contentType, Dictionary<string, string> user)
    {
        Assert.Equal(contentType, head.GetProperty("ContentType").GetString());
        var meta = head.GetProperty("Metadata").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        Assert.Equal(user.OrderBy(p => p.Key), meta.OrderBy(p => p.Key));
    }
}

/// <summary>
/// The rest of the AWS CLI scenarios: listings, sync and presigned URLs are answered from the catalog and do not
/// depend on the backend, so they run over local disk only.
/// </summary>
public abstract class AwsCliFullTests : AwsCliTests
{
    [Fact]
    public async Task Sync_up_and_down_and_listings_with_prefixes_delimiters_and_pages()
    {
        if (Aws is null) return;
        await MakeBucket("listing");
        await Ok("s3", "sync", TreeDirectory, "s3://listing/t", "--only-show-errors");

        var ls = (await Ok("s3", "ls", "s3://listing/t/")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(["PRE a/", "PRE d/", "PRE e f/"], ls.Where(l => l.StartsWith("PRE ", StringComparison.Ordinal)));
        Assert.Equal(["x1", "x14", "x18"], ls.Where(l => !l.StartsWith("PRE ", StringComparison.Ordinal)).Select(l => l.Split(' ').Last()));
        var lsEf = (await Ok("s3", "ls", "s3://listing/t/e f/")).Stdout;
        Assert.Contains(" x 9", lsEf);
        Assert.Contains(" x+10", lsEf);
        Assert.Contains(" x%20", lsEf);
        var recursive = (await Ok("s3", "ls", "--recursive", "s3://listing")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(TreeFiles.Length, recursive.Length);

        var v2 = (await Ok("s3api", "list-objects-v2", "--bucket", "listing", "--prefix", "t/a/", "--delimiter", "/", "--output", "json")).Json();
        Assert.Equal(["t/a/b/", "t/a/c/"], v2.GetProperty("CommonPrefixes").EnumerateArray().Select(p => p.GetProperty("Prefix").GetString()!));
        Assert.Equal(["t/a/x13", "t/a/x2"], Keys(v2));

        var v1 = (await Ok("s3api", "list-objects", "--bucket", "listing", "--prefix", "t/", "--delimiter", "/", "--output", "json")).Json();
        Assert.Equal(["t/a/", "t/d/", "t/e f/"], v1.GetProperty("CommonPrefixes").EnumerateArray().Select(p => p.GetProperty("Prefix").GetString()!));
        Assert.Equal(["t/x1", "t/x14", "t/x18"], Keys(v1));

        // Paged listings: the CLI follows NextMarker (v1) / NextContinuationToken (v2) until the end.
        var all = TreeFiles.Select(f => "t/" + f).Order(StringComparer.Ordinal).ToArray();
        foreach (var op in new[] { "list-objects", "list-objects-v2" })
        {
            var paged = (await Ok("s3api", op, "--bucket", "listing", "--page-size", "3", "--output", "json")).Json();
            Assert.Equal(all, Keys(paged));
            var pagedDelimited = (await Ok("s3api", op, "--bucket", "listing", "--prefix", "t/", "--delimiter", "/", "--page-size", "1", "--output", "json")).Json();
            Assert.Equal(["t/a/", "t/d/", "t/e f/"], pagedDelimited.GetProperty("CommonPrefixes").EnumerateArray().Select(p => p.GetProperty("Prefix").GetString()!));
            Assert.Equal(["t/x1", "t/x14", "t/x18"], Keys(pagedDelimited));
        }

        var down = ScratchDirectory();
        await Ok("s3", "sync", "s3://listing/t", down, "--only-show-errors");
        AssertSameTree(TreeDirectory, down);
        // A second sync has nothing to do.
        Assert.Equal("", (await Ok("s3", "sync", TreeDirectory, "s3://listing/t")).Stdout.Trim());
    }

    [Fact]
    public async Task Presigned_get_serves_the_object_to_curl_until_it_expires()
    {
        if (Aws is null) return;
        await MakeBucket("presign");
        await Ok("s3", "cp", PathOf("ten.bin"), "s3://presign/dir/ten file+.bin", "--only-show-errors");
        var down = ScratchDirectory();

        var url = (await Ok("s3", "presign", "s3://presign/dir/ten file+.bin", "--expires-in", "300")).Stdout.Trim();
        Assert.Contains("X-Amz-Signature=", url);
        var got = await Cli.CurlAsync(url, Path.Combine(down, "ten"));
        Assert.Equal("200", got.EnsureSuccess().Stdout.Trim());
        AssertSameFile(PathOf("ten.bin"), Path.Combine(down, "ten"));

        var shortLived = (await Ok("s3", "presign", "s3://presign/dir/ten file+.bin", "--expires-in", "1")).Stdout.Trim();
        await Task.Delay(TimeSpan.FromSeconds(2.2));
        var expired = await Cli.CurlAsync(shortLived, Path.Combine(down, "expired.xml"));
        Assert.Equal("403", expired.EnsureSuccess().Stdout.Trim());
        Assert.Contains("<Code>AccessDenied</Code>", await File.ReadAllTextAsync(Path.Combine(down, "expired.xml")));
    }
}

/// <summary>Debian's AWS CLI v2 (Content-MD5 on uploads) over a local-disk gateway.</summary>
public sealed class AwsCliV2LocalDiskTests : AwsCliFullTests
{
    protected override string? Aws => CliClients.AwsV2;
}

/// <summary>The pip AWS CLI v1 / botocore 1.43 (CRC32 checksums on uploads) over a local-disk gateway, when installed.</summary>
public sealed class AwsCliV1LocalDiskTests : AwsCliFullTests
{
    protected override string? Aws => CliClients.AwsV1;
    protected override bool CopiesPropertiesOnMultipartCopy => false;
}

/// <summary>AWS CLI v2 over a gateway whose backend is moto (ciphertext stored in another S3 service): the scenarios that reach the backend.</summary>
public sealed class AwsCliV2MotoTests(MotoServer moto) : AwsCliTests, IClassFixture<MotoServer>
{
    protected override string? Aws => CliClients.AwsV2;
    protected override Task<GatewayServer> StartGatewayAsync() => GatewayServer.StartAsync(s3Backend: moto);
}
