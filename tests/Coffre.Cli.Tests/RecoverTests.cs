using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.TestSupport;

namespace Coffre.Cli.Tests;

/// <summary>
/// `coffre recover` after catalog.db is lost with no backup: every bucket, name, version, metadata and byte comes back
/// from the manifests at the providers (local disk, moto, s3rver, and an erasure-coded bucket with two of its four
/// providers gone), as a client sees them through `coffre serve`.
/// </summary>
public sealed class RecoverTests : IClassFixture<MotoServer>
{
    private readonly MotoServer _moto;

    public RecoverTests(MotoServer moto) => _moto = moto;

    private static string S3(ExternalServer server, string bucket) =>
        $$"""{ "Endpoint": "{{server.Endpoint}}", "Bucket": "{{bucket}}", "ForcePathStyle": true, "AccessKeyId": "{{server.AccessKey}}", "SecretAccessKey": "{{server.SecretKey}}" }""";

    [Fact]
    public async Task Local_disk_catalog_is_rebuilt_from_the_manifests() =>
        await LoseAndRecoverAsync("""{ "Coffre": { } }""", lose: _ => { }, exitStores: dir => [dir["data/objects"]]);

    [Fact]
    public async Task Moto_catalog_is_rebuilt_from_the_manifests()
    {
        var bucket = "recover-" + Guid.NewGuid().ToString("N")[..8];
        await _moto.CreateBucketAsync(bucket);
        await LoseAndRecoverAsync($$"""{ "Coffre": { "Backend": { "Type": "s3", "S3": {{S3(_moto, bucket)}} } } }""", lose: _ => { });
    }

    [Fact]
    public async Task S3rver_catalog_is_rebuilt_from_the_manifests()
    {
        using var s3rver = new S3rverServer(["cloud"]);
        await s3rver.StartAsync();
        await LoseAndRecoverAsync($$"""{ "Coffre": { "Backend": { "Type": "s3", "S3": {{S3(s3rver, "cloud")}} } } }""", lose: _ => { });
    }

    [Fact]
    public async Task Erasure_coded_catalog_is_rebuilt_with_two_of_four_providers_gone()
    {
        string Disk(TempDir dir, string name) => $$"""{ "Type": "local", "Path": "{{dir[name]}}", "Facts": { "Operator": "Op {{name}}" } }""";
        await LoseAndRecoverAsync(dir => $$"""
            { "Coffre": {
                "Backends": { "d0": {{Disk(dir, "d0")}}, "d1": {{Disk(dir, "d1")}}, "d2": {{Disk(dir, "d2")}}, "d3": {{Disk(dir, "d3")}} },
                "DefaultPlacement": { "Backends": [ "d0", "d1", "d2", "d3" ], "DistinctBy": [ "Operator" ], "Erasure": { "K": 2, "N": 4 } } } }
            """, lose: dir =>
        {
            // Two providers lost with everything they held: a data share and a parity share of every part, and copies of every manifest.
            Directory.Delete(dir["d0"], recursive: true);
            Directory.Delete(dir["d3"], recursive: true);
        }, exitStores: dir => [dir["d1"], dir["d2"]]);
    }

    private static Task LoseAndRecoverAsync(string settings, Action<TempDir> lose, Func<TempDir, string[]>? exitStores = null) =>
        LoseAndRecoverAsync(_ => settings, lose, exitStores);

    /// <param name="exitStores">The backends' directories left after <paramref name="lose"/>: the exit script
    /// (tools/coffre_exit.py) decrypts every version from them, without Coffre, after a rotation and rewrap.</param>
    private static async Task LoseAndRecoverAsync(Func<TempDir, string> settings, Action<TempDir> lose, Func<TempDir, string[]>? exitStores = null)
    {
        using var dir = new TempDir();
        var data = dir["data"];
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "appsettings.json"), settings(dir));
        Dictionary<string, Snapshot> before;
        using (var serve = await CoffreServeProcess.StartAsync(data))
        {
            using var s3 = serve.CreateS3Client();
            await WriteAsync(s3);
            before = await SnapshotAsync(s3);
        }
        Assert.Equal(8, before.Count);
        if (exitStores is not null)
        {
            // The manifests and data keys move to a new key version; the version written first then only opens through the new one.
            Cli.Run(["key", "rotate", "default", "--data", data], passphrase: CoffreServeProcess.Passphrase).Ok();
            Cli.Run(["rewrap", "--data", data], passphrase: CoffreServeProcess.Passphrase).Ok();
        }

        foreach (var file in Directory.GetFiles(data, "catalog.db*")) File.Delete(file); // no backup either
        lose(dir);

        var recovered = Cli.Run(["recover", "--json", "--data", data], passphrase: CoffreServeProcess.Passphrase, timeout: TimeSpan.FromMinutes(5)).Json();
        Assert.Empty(recovered.GetProperty("unmatched").EnumerateArray());
        Assert.False(recovered.GetProperty("newestVersionsProven").GetBoolean());
        var buckets = recovered.GetProperty("buckets").EnumerateArray().ToDictionary(b => b.GetProperty("bucket").GetString()!);
        Assert.Equal(["docs", "history"], buckets.Keys.Order());
        Assert.Equal(4, buckets["docs"].GetProperty("objects").GetInt64());
        Assert.Equal(4, buckets["history"].GetProperty("versionsRestored").GetInt64());

        // Run again: nothing left to do (an interrupted run resumes the same way).
        var again = Cli.Run(["recover", "--json", "--data", data], passphrase: CoffreServeProcess.Passphrase, timeout: TimeSpan.FromMinutes(5)).Json();
        Assert.All(again.GetProperty("buckets").EnumerateArray(), b => Assert.Equal(0, b.GetProperty("versionsRestored").GetInt64()));

        if (exitStores is not null) ExitScriptWritesEveryVersion(data, exitStores(dir), dir["exported"], before);

        using (var serve = await CoffreServeProcess.StartAsync(data))
        {
            using var s3 = serve.CreateS3Client();
            var after = await SnapshotAsync(s3);
            Assert.Equal(before.Keys.Order(), after.Keys.Order());
            foreach (var (key, expected) in before) Assert.Equal(expected, after[key]);
            Assert.Equal(VersionStatus.Enabled, (await s3.GetBucketVersioningAsync("history")).VersioningConfig.Status);
        }
    }

    private static void ExitScriptWritesEveryVersion(string data, string[] stores, string output, Dictionary<string, Snapshot> expected)
    {
        var script = Path.Combine(Tools.FindRepositoryRoot()!, "tools", "coffre_exit.py");
        var run = Cli.Exec("/usr/bin/python3", [script, "--data", data, .. stores.SelectMany(s => new[] { "--store", s }), "--out", output],
            new Dictionary<string, string?> { ["COFFRE_PASSPHRASE"] = CoffreServeProcess.Passphrase }, timeout: TimeSpan.FromMinutes(5));
        Assert.True(run.ExitCode == 0, $"coffre_exit.py exited {run.ExitCode}:\n{run.All}");
        foreach (var (key, snapshot) in expected)
        {
            var (bucket, rest) = (key[..key.IndexOf('/')], key[(key.IndexOf('/') + 1)..]);
            var (name, version) = (rest[..rest.LastIndexOf('/')], rest[(rest.LastIndexOf('/') + 1)..]);
            if (snapshot.IsLatest)
                Assert.Equal(snapshot.Sha256, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(output, bucket, name)))));
            if (version != "null")
                Assert.Equal(snapshot.Sha256, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(output, ".versions", bucket, name, version)))));
        }
        using var index = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "index.json")));
        var described = index.RootElement.GetProperty("objects").EnumerateArray()
            .Single(o => o.GetProperty("name").GetString() == "dir/ünïcode name.bin" && o.GetProperty("latest").GetBoolean());
        Assert.Equal("application/x-test", described.GetProperty("contentType").GetString());
        Assert.Equal("alice", described.GetProperty("metadata").GetProperty("owner").GetString());
    }

    /// <summary>Unversioned "docs": three objects (one overwritten, one with metadata, one multipart) and a deleted one;
    /// versioned "history": three versions of one name and one of another.</summary>
    private static async Task WriteAsync(AmazonS3Client s3)
    {
        await s3.PutBucketAsync("docs");
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "docs", Key = "a.txt", ContentBody = "first" });
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "docs", Key = "a.txt", ContentBody = "second, overwritten" });
        var withMetadata = new PutObjectRequest { BucketName = "docs", Key = "dir/ünïcode name.bin", InputStream = new MemoryStream(Body(70_000, 1)), ContentType = "application/x-test" };
        withMetadata.Metadata["owner"] = "alice";
        await s3.PutObjectAsync(withMetadata);
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "docs", Key = "gone", ContentBody = "deleted" });
        await s3.DeleteObjectAsync("docs", "gone");
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "docs", Key = "empty", ContentBody = "" });
        var upload = await s3.InitiateMultipartUploadAsync("docs", "big.bin");
        var parts = new List<PartETag>();
        foreach (var (number, body) in new[] { (1, Body(5 * 1024 * 1024, 2)), (2, Body(1234, 3)) })
            parts.Add(new PartETag(number, (await s3.UploadPartAsync(new UploadPartRequest
            {
                BucketName = "docs", Key = "big.bin", UploadId = upload.UploadId, PartNumber = number, InputStream = new MemoryStream(body),
            })).ETag));
        await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = "docs", Key = "big.bin", UploadId = upload.UploadId, PartETags = parts });

        await s3.PutBucketAsync("history");
        await s3.PutBucketVersioningAsync(new PutBucketVersioningRequest { BucketName = "history", VersioningConfig = new S3BucketVersioningConfig { Status = VersionStatus.Enabled } });
        foreach (var i in new[] { 1, 2, 3 })
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = "history", Key = "log", InputStream = new MemoryStream(Body(1000 * i, 10 + i)) });
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "history", Key = "other", ContentBody = "one version" });
    }

    private sealed record Snapshot(bool IsLatest, string ETag, long Size, string ContentType, string Owner, string Sha256);

    /// <summary>Every version of every object of both buckets, as a client reads it: (bucket/key/version) → what it holds.</summary>
    private static async Task<Dictionary<string, Snapshot>> SnapshotAsync(AmazonS3Client s3)
    {
        var result = new Dictionary<string, Snapshot>();
        foreach (var bucket in new[] { "docs", "history" })
        {
            var versions = await s3.ListVersionsAsync(new ListVersionsRequest { BucketName = bucket });
            foreach (var v in versions.Versions)
            {
                using var get = await s3.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = v.Key, VersionId = v.VersionId });
                var body = new MemoryStream();
                await get.ResponseStream.CopyToAsync(body);
                result[$"{bucket}/{v.Key}/{v.VersionId}"] = new Snapshot(v.IsLatest ?? false, v.ETag, v.Size ?? -1, get.Headers.ContentType,
                    get.Metadata["owner"] ?? "", Convert.ToHexString(SHA256.HashData(body.ToArray())));
            }
        }
        return result;
    }

    private static byte[] Body(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
