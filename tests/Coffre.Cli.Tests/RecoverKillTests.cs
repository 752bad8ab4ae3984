using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.TestSupport;

namespace Coffre.Cli.Tests;

/// <summary>
/// `coffre recover` SIGKILLed part-way through restoring a bucket of a few hundred objects, then run again: the second
/// run restores what the first did not, counts what the first did as already present, and every version reads back
/// byte for byte through `coffre serve`. Also: the audit record of a manifest's data key names the object's bucket,
/// name and version, as the object's own record names them.
/// </summary>
public sealed class RecoverKillTests
{
    private const int Objects = 300;

    [Fact]
    public async Task Recover_killed_midway_resumes_and_restores_every_version()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        Dictionary<string, string> before;
        using (var serve = await CoffreServeProcess.StartAsync(data))
        {
            using var s3 = serve.CreateS3Client();
            await s3.PutBucketAsync("many");
            await s3.PutBucketVersioningAsync(new PutBucketVersioningRequest { BucketName = "many", VersioningConfig = new S3BucketVersioningConfig { Status = VersionStatus.Enabled } });
            // Every tenth object gets a second version: a kill may fall between two versions of one name.
            await Parallel.ForEachAsync(Enumerable.Range(0, Objects), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
            {
                foreach (var round in i % 10 == 0 ? new[] { 0, 1 } : [0])
                    await s3.PutObjectAsync(new PutObjectRequest { BucketName = "many", Key = $"obj/{i:D4}", InputStream = new MemoryStream(Body(100 + i, i * 2 + round)) }, ct);
            });
            before = await SnapshotAsync(s3, "many");
        }
        var versions = Objects + Objects / 10;
        Assert.Equal(versions, before.Count);
        foreach (var file in Directory.GetFiles(data, "catalog.db*")) File.Delete(file);

        await KillAfterFirstCommitAsync(data);

        var resumed = Cli.Run(["recover", "--json", "--data", data], passphrase: CoffreServeProcess.Passphrase, timeout: TimeSpan.FromMinutes(5)).Json();
        Assert.Empty(resumed.GetProperty("unmatched").EnumerateArray());
        var bucket = resumed.GetProperty("buckets").EnumerateArray().Single();
        Assert.Equal(Objects, bucket.GetProperty("objects").GetInt64());
        var (restored, present) = (bucket.GetProperty("versionsRestored").GetInt64(), bucket.GetProperty("versionsAlreadyPresent").GetInt64());
        Assert.True(present > 0, "the killed run committed nothing: the kill came too early to test a resume");
        Assert.True(restored > 0, "the killed run committed everything: the kill came too late to test a resume");
        Assert.Equal(versions, restored + present);

        using (var serve = await CoffreServeProcess.StartAsync(data))
        {
            using var s3 = serve.CreateS3Client();
            var after = await SnapshotAsync(s3, "many");
            Assert.Equal(before.Keys.Order(), after.Keys.Order());
            foreach (var (key, expected) in before) Assert.Equal(expected, after[key]);
        }
    }

    [Fact]
    public async Task The_audit_record_of_a_manifest_key_names_the_object()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        string versionId;
        using (var serve = await CoffreServeProcess.StartAsync(data))
        {
            using var s3 = serve.CreateS3Client();
            await s3.PutBucketAsync("audited");
            await s3.PutBucketVersioningAsync(new PutBucketVersioningRequest { BucketName = "audited", VersioningConfig = new S3BucketVersioningConfig { Status = VersionStatus.Enabled } });
            versionId = (await s3.PutObjectAsync(new PutObjectRequest { BucketName = "audited", Key = "report.pdf", ContentBody = "quarterly" })).VersionId;
        }
        var records = Cli.Run(["audit", "list", "--bucket", "audited", "--object", "report.pdf", "--operation", "GenerateDataKey", "--json", "--data", data],
            passphrase: CoffreServeProcess.Passphrase).Json().EnumerateArray()
            .Select(r => JsonSerializer.Deserialize<Dictionary<string, string>>(r.GetProperty("context").GetString()!)!).ToList();
        // The object's data key and its manifest's, both found by the object's name.
        Assert.Equal(2, records.Count);
        var manifest = Assert.Single(records, c => c.ContainsKey("coffre:manifest"));
        Assert.Equal(versionId, manifest["coffre:version"]);
        Assert.Equal("s3", manifest["coffre:face"]);
        Assert.EndsWith(".manifest", manifest["coffre:manifest"]);
    }

    /// <summary>Starts `coffre recover` and SIGKILLs it as soon as it reports its first restored version.</summary>
    private static async Task KillAfterFirstCommitAsync(string data)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in new[] { Cli.CoffreDll, "recover", "--data", data }) psi.ArgumentList.Add(a);
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("COFFRE", StringComparison.OrdinalIgnoreCase)).ToList()) psi.Environment.Remove(name);
        psi.Environment["COFFRE_PASSPHRASE"] = CoffreServeProcess.Passphrase;
        using var first = Process.Start(psi)!;
        first.StandardInput.Close();
        var stdout = first.StandardOutput.ReadToEndAsync();
        var killed = false;
        while (await first.StandardError.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("recover: versions restored ", StringComparison.Ordinal)) continue;
            first.Kill(); // SIGKILL
            killed = true;
            break;
        }
        await first.WaitForExitAsync();
        Assert.True(killed, $"coffre recover ended (exit {first.ExitCode}) before restoring anything:\n{await stdout}");
        Assert.NotEqual(0, first.ExitCode);
    }

    /// <summary>Every version of the bucket: (key/version) → SHA-256 of its body.</summary>
    private static async Task<Dictionary<string, string>> SnapshotAsync(AmazonS3Client s3, string bucket)
    {
        var result = new Dictionary<string, string>();
        var request = new ListVersionsRequest { BucketName = bucket };
        while (true)
        {
            var page = await s3.ListVersionsAsync(request);
            foreach (var v in page.Versions)
            {
                using var get = await s3.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = v.Key, VersionId = v.VersionId });
                var body = new MemoryStream();
                await get.ResponseStream.CopyToAsync(body);
                result[$"{v.Key}/{v.VersionId}"] = Convert.ToHexString(SHA256.HashData(body.ToArray()));
            }
            if (page.IsTruncated != true) break;
            (request.KeyMarker, request.VersionIdMarker) = (page.NextKeyMarker, page.NextVersionIdMarker);
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
