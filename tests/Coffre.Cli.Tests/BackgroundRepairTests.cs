using System.Net.Http;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.Storage;
using Coffre.TestSupport;

namespace Coffre.Cli.Tests;

/// <summary>The maintenance service of a running `coffre serve` rewrites the copies a provider lost, every Coffre:RepairInterval, and counts it at /metrics.</summary>
public sealed class BackgroundRepairTests
{
    [Fact]
    public async Task A_running_server_rewrites_lost_copies_in_the_background()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "appsettings.json"), $$"""
            { "Coffre": {
                "MaintenanceInterval": "00:00:01", "RepairInterval": "00:00:02",
                "Backends": {
                  "left":  { "Type": "local", "Path": "{{dir["left"]}}",  "Facts": { "Operator": "Ministère X" } },
                  "right": { "Type": "local", "Path": "{{dir["right"]}}", "Facts": { "Operator": "Hôpital Y" } } },
                "DefaultPlacement": { "Copies": 2, "DistinctBy": [ "Operator" ] } } }
            """);
        using var serve = await CoffreServeProcess.StartAsync(data);
        using var s3 = serve.CreateS3Client();
        await s3.PutBucketAsync("docs");
        for (var i = 0; i < 4; i++)
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = "docs", Key = $"doc-{i}", ContentBody = new string('x', 1000 * (i + 1)) });
        var right = new LocalDiskBlobStore(dir["right"]);
        var blobs = await right.ListAsync("objects/").Select(b => b.Key).Where(k => !k.Contains('.')).ToListAsync(); // the parts, not their manifests
        Assert.Equal(4, blobs.Count);
        foreach (var blob in blobs) await right.DeleteAsync(blob); // the provider lost them

        using var http = new HttpClient();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (await right.ListAsync("objects/").CountAsync(b => !b.Key.Contains('.')) < 4)
        {
            Assert.True(DateTime.UtcNow < deadline, "the lost copies were not rewritten within 60 s:\n" + serve.Log);
            await Task.Delay(500);
        }
        foreach (var blob in blobs) Assert.NotNull(await right.HeadAsync(blob));
        var metrics = await http.GetStringAsync($"{serve.Endpoint}/metrics");
        var rewritten = metrics.Split('\n').Single(l => l.StartsWith("coffre_repair_copies_rewritten_total "));
        Assert.True(double.Parse(rewritten.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) >= 4, rewritten);
        Assert.Contains("coffre_repair_unrepairable_blobs 0", metrics);
    }
}
