using System.Diagnostics;
using System.Text.Json;
using Coffre.Kms.Keys;
using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Server.Hosting;
using Coffre.Storage;
using Coffre.Sqlite.Objects;

namespace Coffre.Cli.Tests;

/// <summary>Key lifecycle through the real `coffre` process, on data directories filled in-process.</summary>
public sealed class LifecycleTests
{
    private const string Principal = "tester";
    private const string Bucket = "bulk";

    private static byte[] Content(int i)
    {
        var random = new Random(i);
        var bytes = new byte[100 + random.Next(901)];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>A data directory the CLI can open (default PBKDF2 cost, passphrase <see cref="Cli.Passphrase"/>) with key "default".</summary>
    private static Deployment InitData(string data, TimeProvider? time = null)
    {
        var deployment = Deployment.InitializeAsync(new DeploymentLocation(data), Cli.Passphrase, time: time).GetAwaiter().GetResult();
        deployment.Keys.CreateKey("default", null, Principal);
        return deployment;
    }

    private static async Task PutAllAsync(ObjectStore store, IEnumerable<int> items, Func<int, string> name)
    {
        await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
        {
            var body = Content(i);
            await store.PutObjectAsync(new PutObjectCommand(Bucket, name(i), new MemoryStream(body), body.Length, new ObjectMetadata(), Principal), ct);
        });
    }

    private static string Name(int i) => $"o/{i:D5}";

    [Fact]
    public async Task Rewrap_of_10000_objects_killed_midway_then_resumed_moves_every_object_and_keeps_its_content()
    {
        const int count = 10_000;
        using var dir = new TempDir();
        var data = dir["data"];
        string keyId;
        using (var deployment = InitData(data))
        {
            var keys = deployment.Keys;
            var objects = new ObjectServices(new CoffreServerOptions(), deployment, TimeProvider.System);
            await objects.Store.CreateBucketAsync(Bucket, Principal);
            await PutAllAsync(objects.Store, Enumerable.Range(0, count), Name);
            keyId = keys.RotateKey("default", Principal).Id;
        }
        var catalog = SqliteObjectCatalog.Open(Path.Combine(data, ObjectServices.CatalogFileName));
        async Task<long> Moved() => (await catalog.CountByKeyVersionAsync()).GetValueOrDefault((keyId, 2));
        Assert.Equal(0, await Moved());

        // The real CLI, killed (by its process id) once some but not all objects moved.
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            WorkingDirectory = dir.Path,
        };
        foreach (var a in new[] { Cli.CoffreDll, "rewrap", "--data", data, "--json" }) psi.ArgumentList.Add(a);
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("COFFRE", StringComparison.OrdinalIgnoreCase)).ToList())
            psi.Environment.Remove(name);
        psi.Environment["COFFRE_PASSPHRASE"] = Cli.Passphrase;
        using (var process = Process.Start(psi)!)
        {
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            process.StandardInput.Close();
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            while (await Moved() == 0 && !process.HasExited && DateTime.UtcNow < deadline) await Task.Delay(5);
            await Task.Delay(50); // a few more, so the kill lands in the middle of a batch
            Assert.False(process.HasExited, "coffre rewrap finished before it could be killed");
            using var victim = Process.GetProcessById(process.Id);
            victim.Kill();
            await process.WaitForExitAsync();
        }
        var movedAtKill = await Moved();
        Assert.InRange(movedAtKill, 1, count - 1);

        var resumed = Cli.Run(["rewrap", "--data", data, "--json"], timeout: TimeSpan.FromMinutes(5)).Json();
        Assert.Equal(count - movedAtKill, resumed.GetProperty("rewrapped").GetInt64());
        Assert.Equal(0, resumed.GetProperty("skipped").GetInt64());
        Assert.Equal(0, resumed.GetProperty("remaining").GetInt64());
        Assert.Equal(count, await Moved());
        Assert.False((await catalog.CountByKeyVersionAsync()).ContainsKey((keyId, 1)));

        // Every object: exact content, primary version in the catalog, and the same version and
        // wrapped key in its sidecar (what the backend alone holds; the part blob keeps version 1).
        using (var deployment = Deployment.Open(new DeploymentLocation(data), Cli.Passphrase))
        {
            var objects = new ObjectServices(new CoffreServerOptions(), deployment, TimeProvider.System);
            await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            {
                var record = await objects.Store.GetRecordAsync(Bucket, Name(i));
                Assert.Equal(2, record.Key.KeyVersion);
                using (var reader = objects.Store.OpenAsync(record, Principal).GetAwaiter().GetResult())
                using (var copy = new MemoryStream())
                {
                    await reader.Body.CopyToAsync(copy, ct);
                    Assert.Equal(Content(i), copy.ToArray());
                }
                var part = await objects.Blobs.HeadAsync(record.Parts[0].Blob, ct) ?? throw new Xunit.Sdk.XunitException($"no blob for {record.Name}");
                Assert.Equal("1", part.Metadata["coffre-key-version"]);
                var sidecar = await objects.Blobs.HeadAsync(BlobMetadata.SidecarKey(record.Parts[0].Blob), ct) ?? throw new Xunit.Sdk.XunitException($"no sidecar for {record.Name}");
                Assert.Equal("2", sidecar.Metadata["coffre-key-version"]);
                Assert.Equal(Convert.ToBase64String(record.Key.Wrapped), sidecar.Metadata["coffre-wrapped-key"]);
            });
        }
    }

    [Fact]
    public async Task Report_keys_json_counts_objects_per_version_and_flags_overdue_rotation()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        // Keys created ten days ago; "rotating" should have rotated daily: overdue now.
        var past = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow - TimeSpan.FromDays(10));
        using (var deployment = InitData(data, past))
        {
            var keys = deployment.Keys;
            keys.CreateKey("rotating", null, Principal);
            keys.SetRotationPolicy("rotating", TimeSpan.FromDays(1), Principal);
            keys.CreateKey("quarterly", null, Principal);
            keys.SetRotationPolicy("quarterly", TimeSpan.FromDays(90), Principal);
            var objects = new ObjectServices(new CoffreServerOptions(), deployment, past);
            await objects.Store.CreateBucketAsync(Bucket, Principal);
            await PutAllAsync(objects.Store, Enumerable.Range(0, 3), Name);
            keys.RotateKey("default", Principal);
            await PutAllAsync(objects.Store, Enumerable.Range(3, 2), Name);
        }

        var report = Cli.Run("report", "keys", "--json", "--data", data).Json();
        var byName = report.EnumerateArray().ToDictionary(k => k.GetProperty("name").GetString()!);
        Assert.Equal(["default", "quarterly", "rotating"], byName.Keys.Order());
        var versions = byName["default"].GetProperty("versions").EnumerateArray()
            .ToDictionary(v => v.GetProperty("version").GetInt32(), v => v.GetProperty("objects").GetInt64());
        Assert.Equal(new Dictionary<int, long> { [1] = 3, [2] = 2 }, versions);
        Assert.Equal(2, byName["default"].GetProperty("primaryVersion").GetInt32());
        Assert.False(byName["default"].GetProperty("rotationOverdue").GetBoolean());
        Assert.True(byName["rotating"].GetProperty("rotationOverdue").GetBoolean());
        Assert.False(byName["quarterly"].GetProperty("rotationOverdue").GetBoolean());
        Assert.Equal(0, byName["rotating"].GetProperty("versions")[0].GetProperty("objects").GetInt64());

        var human = Cli.Run("report", "keys", "--data", data).Ok().Stdout;
        Assert.Contains("overdue", human);
    }

    [Fact]
    public async Task Key_destroy_prints_the_impact_report()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        using (var deployment = InitData(data))
        {
            var keys = deployment.Keys;
            var objects = new ObjectServices(new CoffreServerOptions(), deployment, TimeProvider.System);
            await objects.Store.CreateBucketAsync(Bucket, Principal);
            await PutAllAsync(objects.Store, Enumerable.Range(0, 4), Name);
        }

        var impact = Cli.Run("report", "impact", "default", "--json", "--data", data).Json();
        Assert.Equal(4, impact.GetProperty("objectCount").GetInt32());

        var destroy = Cli.Run("key", "destroy", "default", "--pending", "1d", "--data", data).Ok().Stdout;
        // The report is printed once the destruction is scheduled (a refused destroy prints nothing
        // on stdout), and lists what becomes unreadable when the pending period ends.
        Assert.Contains("4 object(s) in 1 bucket(s) are protected by key default", destroy);
        Assert.Contains("will be destroyed on", destroy);
        for (var i = 0; i < 4; i++) Assert.Contains(Name(i), destroy);

        var show = Cli.Run("key", "show", "default", "--json", "--data", data).Json();
        Assert.Equal("pending-destruction", show.GetProperty("state").GetString());
    }
}
