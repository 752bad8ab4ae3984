using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.Storage;
using Coffre.TestSupport;

namespace Coffre.Cli.Tests;

/// <summary>`coffre repair` rewrites the copies a provider lost behind Coffre's back, from the other provider, without the passphrase;
/// `--from-record` trusts the record of copies and so does not see them.</summary>
public sealed class RepairTests
{
    [Fact]
    public async Task Repair_rewrites_the_copies_a_backend_lost_and_a_second_run_finds_nothing_to_do()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "appsettings.json"), $$"""
            { "Coffre": {
                "Backends": {
                  "left":  { "Type": "local", "Path": "{{dir["left"]}}",  "Facts": { "Operator": "Ministère X" } },
                  "right": { "Type": "local", "Path": "{{dir["right"]}}", "Facts": { "Operator": "Hôpital Y" } } },
                "DefaultPlacement": { "Copies": 2, "DistinctBy": [ "Operator" ] } } }
            """);
        using (var serve = await CoffreServeProcess.StartAsync(data))
        {
            using var s3 = serve.CreateS3Client();
            await s3.PutBucketAsync("docs");
            for (var i = 0; i < 5; i++)
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = "docs", Key = $"doc-{i}", ContentBody = new string('x', 1000 * (i + 1)) });
            // Stopped, not killed: the server writes its last batch of the record of copies on the way out.
            await serve.StopAsync();
        }
        var right = new LocalDiskBlobStore(dir["right"]);
        Assert.Equal(10, await right.ListAsync("objects/").CountAsync()); // five parts and their manifests
        Directory.Delete(dir["right"], recursive: true); // the provider lost everything

        // The record of copies still says "right" holds them: a pass from the record reads nothing and rewrites nothing.
        var fromRecord = Cli.Run(["repair", "--from-record", "--json", "--data", data], passphrase: null).Json();
        Assert.Equal(0, fromRecord.GetProperty("copiesRewritten").GetInt64());
        // By default every copy is read: the lost ones are found and rewritten.
        var repaired = Cli.Run(["repair", "--json", "--data", data], passphrase: null).Json();
        Assert.Equal(5, repaired.GetProperty("objects").GetInt64());
        Assert.Equal(10, repaired.GetProperty("copiesRewritten").GetInt64());
        Assert.Empty(repaired.GetProperty("problems").EnumerateArray());
        Assert.Equal(10, await new LocalDiskBlobStore(dir["right"]).ListAsync("objects/").CountAsync());
        Assert.False(File.Exists(Path.Combine(data, "repair.state.json")), "a finished repair left its resume state behind");

        var again = Cli.Run(["repair", "docs", "--json", "--data", data], passphrase: null).Json();
        Assert.Equal(0, again.GetProperty("copiesRewritten").GetInt64());

        Cli.Run(["repair", "nothere", "--data", data], passphrase: null).Fails(3);
    }
}
