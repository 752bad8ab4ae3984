using System.IO.Compression;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.Storage;
using Coffre.TestSupport;

namespace Coffre.Cli.Tests;

/// <summary>
/// `coffre report sovereignty`: its JSON states what the configuration and the provider catalog say (the same facts as
/// `coffre backends show`), the key custody, the audit trail and the copies missing; the HTML renders in headless
/// Chromium with its headings and the same figures.
/// </summary>
public sealed class ReportSovereigntyTests : IClassFixture<MotoServer>
{
    private readonly MotoServer _moto;

    public ReportSovereigntyTests(MotoServer moto) => _moto = moto;

    [Fact]
    public async Task The_report_states_the_facts_of_configuration_and_catalog_and_its_html_renders_with_the_same_figures()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        var motoBucket = "report-" + Guid.NewGuid().ToString("N")[..8];
        await _moto.CreateBucketAsync(motoBucket);
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "appsettings.json"), $$"""
            { "Coffre": {
                "Backends": {
                  "scw":    { "Type": "s3", "Provider": "scaleway/fr-par", "S3": { "Endpoint": "{{_moto.Endpoint}}", "Bucket": "{{motoBucket}}", "ForcePathStyle": true,
                              "AccessKeyId": "testing", "SecretAccessKey": "testing" } },
                  "onprem": { "Type": "local", "Path": "{{dir["onprem"]}}",
                              "Facts": { "Country": "FR", "Operator": "Ministère X", "Jurisdiction": "FR", "Exposures": { "us-cloud-act": "none-identified" } } } },
                "Buckets": { "health": { "Placement": { "Backends": [ "scw", "onprem" ], "Copies": 2, "DistinctBy": [ "Operator" ], "Countries": [ "FR" ] } } } } }
            """);
        Cli.Run("init", "--data", data).Ok();
        using (var serve = await CoffreServeProcess.StartAsync(data, new Dictionary<string, string> { ["COFFRE_PASSPHRASE"] = Cli.Passphrase }))
        {
            using var s3 = serve.CreateS3Client();
            await s3.PutBucketAsync("health");
            for (var i = 0; i < 3; i++)
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = "health", Key = $"record-{i}", ContentBody = new string('r', 500 * (i + 1)) });
            // The server records each blob's copies in the catalog off the request path: wait for them (generously) before it is killed.
            var recordedCopies = Coffre.Sqlite.Objects.SqliteBlobCopyStore.Open(Path.Combine(data, "catalog.db"));
            var onDisk = await new LocalDiskBlobStore(dir["onprem"]).ListAsync("objects/").Select(b => b.Key).ToListAsync();
            for (var deadline = DateTime.UtcNow.AddMinutes(1); (await recordedCopies.OfAsync(onDisk)).Count < 2 * onDisk.Count;)
            {
                Assert.True(DateTime.UtcNow < deadline, "the server did not record its copies within a minute");
                await Task.Delay(50);
            }
        }
        // One copy lost by the on-premises store: the report must count it.
        var onprem = new LocalDiskBlobStore(dir["onprem"]);
        var lost = await onprem.ListAsync("objects/").FirstAsync(b => !b.Key.Contains('.')); // a part, not a manifest
        await onprem.DeleteAsync(lost.Key);

        var json = Cli.Run("report", "sovereignty", "--format", "json", "--data", data).Json();
        Assert.Equal("passphrase", json.GetProperty("custody").GetProperty("rootKind").GetString()?.ToLowerInvariant());
        Assert.True(json.GetProperty("audit").GetProperty("ok").GetBoolean());
        var bucket = json.GetProperty("buckets").EnumerateArray().Single();
        Assert.Equal("health", bucket.GetProperty("name").GetString());
        Assert.Equal(2, bucket.GetProperty("policy").GetProperty("copies").GetInt32());
        var copies = bucket.GetProperty("copies").EnumerateArray().ToDictionary(c => c.GetProperty("backend").GetString()!);
        Assert.Equal(["onprem", "scw"], copies.Keys.Order());
        // The facts are those `coffre backends show` gives: the catalog's (with source and date) and the configuration's.
        foreach (var name in copies.Keys)
        {
            var shown = Cli.Run("backends", "show", name, "--json", "--data", data).Json();
            var facts = copies[name].GetProperty("facts");
            foreach (var fact in new[] { "country", "operator", "jurisdiction" })
                Assert.Equal(Compact(shown.GetProperty(fact)), Compact(facts.GetProperty(fact)));
            Assert.Equal(Compact(shown.GetProperty("certifications")), Compact(facts.GetProperty("certifications")));
            Assert.Equal(Compact(shown.GetProperty("exposures")), Compact(facts.GetProperty("exposures")));
        }
        Assert.Equal("Scaleway SAS", copies["scw"].GetProperty("facts").GetProperty("operator").GetProperty("value").GetString());
        Assert.StartsWith("http", copies["scw"].GetProperty("facts").GetProperty("operator").GetProperty("source").GetString());
        Assert.Equal("configuration", copies["onprem"].GetProperty("facts").GetProperty("operator").GetProperty("origin").GetString());
        var health = bucket.GetProperty("health");
        Assert.Equal(3, health.GetProperty("objects").GetInt64());
        Assert.Equal(1, health.GetProperty("missingCopies").GetInt64());
        // The catalog's record: every blob on both backends, as written (the copy lost behind Coffre's back stays recorded until a repair).
        var recorded = health.GetProperty("recorded").EnumerateArray().ToDictionary(r => r.GetProperty("backend").GetString()!, r => r.GetProperty("blobs").GetInt64());
        Assert.Equal(3, recorded["onprem"]);
        Assert.Equal(3, recorded["scw"]);
        Assert.Contains(bucket.GetProperty("whoCouldDenyAccess").EnumerateArray(), a => a.GetString()!.StartsWith("No single provider"));
        Assert.Contains(bucket.GetProperty("whoCouldObtainPlaintext").EnumerateArray(), a => a.GetString()!.StartsWith("No storage provider can"));

        var html = dir["report.html"];
        Cli.Run("report", "sovereignty", "--format", "html", "-o", html, "--data", data).Ok();
        var page = File.ReadAllText(html);
        Assert.DoesNotContain("http-equiv", page);
        Assert.DoesNotContain("<script", page);
        Assert.DoesNotContain("<link", page);
        Assert.DoesNotContain(" src=", page);
        // Rendered by a real browser: the headings an auditor looks for, and the JSON's figures.
        var dom = Cli.Exec("chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "file://" + html], timeout: TimeSpan.FromMinutes(2)).Ok().Stdout;
        foreach (var heading in new[] { "<h1>Sovereignty report</h1>", "<h2>Key custody</h2>", "<h2>Audit trail</h2>", "<h2>Bucket health</h2>",
                     "<h3>Copies</h3>", "<h3>Who could obtain the plaintext?</h3>", "<h3>Who could deny us access?</h3>" })
            Assert.Contains(heading, dom);
        Assert.Contains($"{health.GetProperty("objects").GetInt64()} object(s), {health.GetProperty("blobs").GetInt64()} blob(s) checked on every required backend: " +
            $"{health.GetProperty("missingCopies").GetInt64()} copie(s) missing", dom);
        // Each run adds audit records (opening the keys is audited), so the chain is longer in this later run.
        var records = long.Parse(System.Text.RegularExpressions.Regex.Match(dom, @"Intact: (\d+) records chained").Groups[1].Value);
        Assert.InRange(records, json.GetProperty("audit").GetProperty("records").GetInt64(), long.MaxValue);
        Assert.Contains("Scaleway SAS", dom);
        Assert.Contains("Blobs recorded", dom);

        var png = dir["report.png"];
        Cli.Exec("chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", $"--screenshot={png}", "--window-size=1280,2000", "file://" + html],
            timeout: TimeSpan.FromMinutes(2)).Ok();
        Assert.True(DistinctPixelBytes(File.ReadAllBytes(png)) > 20, "the screenshot is blank");

        var markdown = Cli.Run("report", "sovereignty", "health", "--data", data).Ok().Stdout;
        Assert.Contains("## Bucket health", markdown);
        Cli.Run("report", "sovereignty", "nothere", "--data", data).Fails(ExitCodes.NotFound);
    }

    private static string Compact(JsonElement e) => JsonSerializer.Serialize(e);

    /// <summary>How many different byte values the PNG's pixel data holds (a blank page has one or two).</summary>
    private static int DistinctPixelBytes(byte[] png)
    {
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        using var idat = new MemoryStream();
        for (var at = 8; at < png.Length;)
        {
            var length = (png[at] << 24) | (png[at + 1] << 16) | (png[at + 2] << 8) | png[at + 3];
            if (System.Text.Encoding.ASCII.GetString(png, at + 4, 4) == "IDAT") idat.Write(png, at + 8, length);
            at += 12 + length;
        }
        idat.Position = 0;
        using var pixels = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionMode.Decompress)) z.CopyTo(pixels);
        return pixels.ToArray().Distinct().Count();
    }
}
