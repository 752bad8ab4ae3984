using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.Objects.Catalog;
using Coffre.Objects.Placement;
using Coffre.Sqlite.Objects;
using Coffre.Storage;
using Coffre.Storage.Placement;
using Coffre.TestSupport;

namespace Coffre.Cli.Tests;

/// <summary>
/// `coffre migrate` between two real S3 servers standing for two providers (moto and s3rver, plus a local disk as a
/// third), with the bucket in use through a running `coffre serve` throughout, and the migrating process killed with
/// SIGKILL mid-copy and run again.
/// </summary>
public sealed class MigrateTests : IClassFixture<MotoServer>
{
    /// <summary>2,000 objects, as the issue asks; the whole test takes about two minutes on a loaded two-core host.</summary>
    private const int Objects = 2000;

    private readonly MotoServer _moto;

    public MigrateTests(MotoServer moto) => _moto = moto;

    private static string S3(string endpoint, string bucket, string key, string secret) =>
        $$"""{ "Endpoint": "{{endpoint}}", "Bucket": "{{bucket}}", "ForcePathStyle": true, "AccessKeyId": "{{key}}", "SecretAccessKey": "{{secret}}", "RequestTimeout": "00:00:20" }""";

    private static byte[] Body(string name) => SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name)) is var seed
        ? Enumerable.Range(0, 200 + seed[0] * 16).Select(i => (byte)(seed[i % 32] ^ i)).ToArray() : [];

    [Fact]
    public async Task A_bucket_moves_to_another_provider_while_in_use_and_a_killed_migration_resumes()
    {
        using var dir = new TempDir();
        using var s3rver = new S3rverServer(["target"]);
        await s3rver.StartAsync();
        var motoBucket = "source-" + Guid.NewGuid().ToString("N")[..8];
        await _moto.CreateBucketAsync(motoBucket);
        var data = dir["data"];
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "appsettings.json"), $$"""
            { "Coffre": {
                "Backends": {
                  "moto":   { "Type": "s3", "S3": {{S3(_moto.Endpoint, motoBucket, "testing", "testing")}}, "Facts": { "Country": "FR", "Operator": "Provider A" } },
                  "s3rver": { "Type": "s3", "S3": {{S3(s3rver.Endpoint, "target", "S3RVER", "S3RVER")}}, "Facts": { "Country": "FR", "Operator": "Provider B" } },
                  "disk":   { "Type": "local", "Path": "{{dir["disk"]}}", "Facts": { "Country": "FR", "Operator": "Ministère X" } } },
                "DefaultPlacement": { "Backends": [ "moto" ], "Countries": [ "FR" ] } } }
            """);
        using var serve = await CoffreServeProcess.StartAsync(data);
        using var s3 = serve.CreateS3Client(maxErrorRetry: 0);
        await s3.PutBucketAsync("docs");
        await Parallel.ForEachAsync(Enumerable.Range(0, Objects), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = "docs", Key = $"doc-{i:D5}", InputStream = new MemoryStream(Body($"doc-{i:D5}")) }, ct));

        // The bucket in use throughout: writes, reads of old and new objects, deletes; every failure is kept.
        var failures = new ConcurrentQueue<string>();
        var live = new ConcurrentDictionary<string, bool>();
        using var stopWorkload = new CancellationTokenSource();
        var operations = 0;
        var workload = Task.Run(async () =>
        {
            for (var i = 0; !stopWorkload.IsCancellationRequested; i++)
            {
                var name = $"live-{i:D5}";
                try
                {
                    await s3.PutObjectAsync(new PutObjectRequest { BucketName = "docs", Key = name, InputStream = new MemoryStream(Body(name)) });
                    await ExpectAsync(s3, name);
                    await ExpectAsync(s3, $"doc-{Random.Shared.Next(Objects):D5}");
                    if (i % 3 == 0) await s3.DeleteObjectAsync("docs", name);
                    else live[name] = true;
                    Interlocked.Add(ref operations, i % 3 == 0 ? 4 : 3);
                }
                catch (Exception e)
                {
                    failures.Enqueue($"{name}: {e.GetType().Name}: {e.Message}");
                }
            }
        });

        // First run: SIGKILL once a third of the objects are copied.
        var killedAt = RunAndKill(["migrate", "docs", "--to", "s3rver", "--json", "--parallel", "4", "--data", data], Objects / 3);
        Assert.InRange(killedAt, Objects / 3, Objects - 1);
        var state = await SqlitePlacementStateStore.Open(Path.Combine(data, "catalog.db")).GetAsync("docs");
        Assert.Equal(MigrationPhase.Copying, state!.Migration!.Phase);
        Assert.True(state.Migration.Objects >= Objects / 3 - 200, $"the cursor was saved: {state.Migration.Objects} objects");
        await Task.Delay(2000); // the bucket keeps being used between the two runs

        // Another migration of the same bucket is refused while this one is unfinished.
        Cli.Run(["migrate", "docs", "--to", "disk", "--data", data], passphrase: null).Fails(ExitCodes.Conflict);

        var done = Cli.Run(["migrate", "docs", "--to", "s3rver", "--delete-source", "--json", "--data", data], passphrase: null, timeout: TimeSpan.FromMinutes(10));
        var result = done.Json();
        Assert.Equal("moto", result.GetProperty("from").GetString());
        Assert.Equal(["s3rver"], result.GetProperty("backends").EnumerateArray().Select(b => b.GetString()));
        Assert.Contains("\"phase\":\"copying\"", done.Stderr);
        Assert.Contains("\"etaSeconds\"", done.Stderr);

        await Task.Delay(1500);
        await stopWorkload.CancelAsync();
        await workload;
        Assert.True(failures.IsEmpty, $"{failures.Count} failure(s) of {operations} operations while migrating, e.g.: {string.Join("\n", failures.Take(5))}");
        Assert.True(operations > 30, $"the bucket was barely used during the migration ({operations} operations)");

        // Every object, old and written meanwhile, reads back whole through the server, and each blob is on the target
        // at its catalog length with its recorded header and none remains on the source.
        var names = Enumerable.Range(0, Objects).Select(i => $"doc-{i:D5}").Concat(live.Keys).ToList();
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (name, _) => await ExpectAsync(s3, name));
        var target = new S3BlobStore(new S3BlobStoreOptions { Endpoint = s3rver.Endpoint, Bucket = "target", ForcePathStyle = true, AccessKeyId = "S3RVER", SecretAccessKey = "S3RVER" });
        var source = new S3BlobStore(new S3BlobStoreOptions { Endpoint = _moto.Endpoint, Bucket = motoBucket, ForcePathStyle = true, AccessKeyId = "testing", SecretAccessKey = "testing" });
        await using var catalog = SqliteObjectCatalog.Open(Path.Combine(data, "catalog.db"));
        var records = new List<ObjectRecord>();
        for (string? after = null; ;)
        {
            var page = await catalog.ListObjectsAsync("docs", "", null, after, 1000);
            records.AddRange(page.Entries.Select(e => e.Record!));
            if (!page.IsTruncated) break;
            after = page.NextMarker ?? records[^1].Name;
        }
        Assert.Equal(names.Order(StringComparer.Ordinal), records.Select(r => r.Name));
        await Parallel.ForEachAsync(records, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (record, ct) =>
        {
            foreach (var item in ObjectBlobs.Of(record).Where(b => !b.OptionalAnnex))
            {
                Assert.NotNull(await BlobRepairer.CheckAsync(target, item, ct));
                Assert.Null(await source.HeadAsync(item.Key, ct));
            }
        });
        // The catalog states the same facts: every blob recorded on the target, none on the source any more.
        var blobs = records.SelectMany(ObjectBlobs.Of).Where(b => !b.OptionalAnnex).Select(b => b.Key).ToList();
        var copies = await SqliteBlobCopyStore.Open(Path.Combine(data, "catalog.db")).OfAsync(blobs);
        Assert.Equal(blobs.Order(StringComparer.Ordinal), copies.Where(c => c.Backend == "s3rver").Select(c => c.Blob));
        Assert.DoesNotContain(copies, c => c.Backend == "moto");

        // The switch is persisted: `coffre backends` shows the bucket on the target, and new writes go there only.
        var list = Cli.Run(["backends", "list", "--json", "--data", data], passphrase: null).Json();
        Assert.Contains("docs", list.EnumerateArray().Single(b => b.GetProperty("name").GetString() == "s3rver").GetProperty("buckets").EnumerateArray().Select(b => b.GetString()));
        await Task.Delay(1500);
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "docs", Key = "after", InputStream = new MemoryStream(Body("after")) });
        var blob = (await catalog.GetObjectAsync("docs", "after"))!.Parts[0].Blob;
        Assert.NotNull(await target.HeadAsync(blob));
        Assert.Null(await source.HeadAsync(blob));
    }

    private static async Task ExpectAsync(AmazonS3Client s3, string name)
    {
        using var response = await s3.GetObjectAsync("docs", name);
        using var read = new MemoryStream();
        await response.ResponseStream.CopyToAsync(read);
        if (!read.ToArray().AsSpan().SequenceEqual(Body(name))) throw new InvalidDataException($"{name} read back different");
    }

    /// <summary>Runs coffre, reading its JSON progress lines on stderr, and SIGKILLs it once a line reports <paramref name="objects"/> objects copied.</summary>
    private static int RunAndKill(string[] args, int objects)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { Cli.CoffreDll }.Concat(args)) psi.ArgumentList.Add(a);
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("COFFRE", StringComparison.OrdinalIgnoreCase)).ToList()) psi.Environment.Remove(name);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string? line;
        var seen = 0;
        while ((line = process.StandardError.ReadLine()) is not null)
        {
            if (!line.StartsWith('{')) continue;
            using var progress = JsonDocument.Parse(line);
            seen = (int)progress.RootElement.GetProperty("objects").GetInt64();
            if (seen >= objects)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
                return seen;
            }
        }
        process.WaitForExit();
        throw new Xunit.Sdk.XunitException($"coffre migrate ended (exit {process.ExitCode}) before it was killed, after {seen} objects: {stdout.Result}");
    }
}
