using System.Text.Json;
using Coffre.TestSupport;

namespace Coffre.Cli.Tests;

/// <summary>`coffre backends list|show|check|providers` and the checks of Coffre:Backends, DefaultPlacement and Buckets.</summary>
public sealed class BackendsTests : IClassFixture<MotoServer>
{
    private readonly MotoServer _moto;

    public BackendsTests(MotoServer moto) => _moto = moto;

    private static string Write(TempDir dir, string json)
    {
        var data = dir["data"];
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "appsettings.json"), json);
        return data;
    }

    private static string S3(string endpoint, string bucket) =>
        $$"""{ "Endpoint": "{{endpoint}}", "Bucket": "{{bucket}}", "ForcePathStyle": true, "AccessKeyId": "testing", "SecretAccessKey": "testing", "RequestTimeout": "00:00:05" }""";

    private static string Health(TempDir dir, string certifications) => $$"""
        { "Coffre": {
            "Backends": {
              "ovh-gra": { "Type": "s3", "Provider": "ovhcloud/gra", "S3": {{S3("http://127.0.0.1:1", "bucket-one")}} },
              "scw":     { "Type": "s3", "Provider": "scaleway/fr-par", "S3": {{S3("http://127.0.0.1:1", "bucket-two")}} },
              "onprem":  { "Type": "local", "Path": "{{dir["onprem"]}}",
                           "Facts": { "Country": "FR", "Operator": "Ministère X", "Jurisdiction": "FR", "Exposures": { "us-cloud-act": "none-identified" } } } },
            "DefaultPlacement": { "Backends": [ "onprem" ] },
            "Buckets": { "health": { "Key": "health", "Placement": {
              "Backends": [ "scw", "onprem" ], "Copies": 2, "DistinctBy": [ "Operator" ], "Countries": [ "FR" ], "Certifications": [ {{certifications}} ] } } } } }
        """;

    [Fact]
    public void List_and_show_give_each_backends_facts_with_their_origin()
    {
        using var dir = new TempDir();
        var data = Write(dir, Health(dir, ""));
        var list = Cli.Run("backends", "list", "--json", "--data", data).Json();
        Assert.Equal(["onprem", "ovh-gra", "scw"], list.EnumerateArray().Select(b => b.GetProperty("name").GetString()));
        var scw = list.EnumerateArray().Single(b => b.GetProperty("name").GetString() == "scw");
        Assert.Equal("scaleway/fr-par", scw.GetProperty("provider").GetString());
        Assert.Equal("FR", scw.GetProperty("country").GetString());
        Assert.Equal("Scaleway SAS", scw.GetProperty("operator").GetString());
        Assert.Contains("HDS", scw.GetProperty("certifications").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(["health"], scw.GetProperty("buckets").EnumerateArray().Select(c => c.GetString()));
        var onprem = list.EnumerateArray().Single(b => b.GetProperty("name").GetString() == "onprem");
        Assert.True(onprem.GetProperty("defaultCopy").GetBoolean());

        var show = Cli.Run("backends", "show", "onprem", "--json", "--data", data).Json();
        Assert.Equal("configuration", show.GetProperty("operator").GetProperty("origin").GetString());
        Assert.False(show.GetProperty("operator").TryGetProperty("source", out _));
        var gra = Cli.Run("backends", "show", "ovh-gra", "--json", "--data", data).Json();
        Assert.Equal("catalog", gra.GetProperty("country").GetProperty("origin").GetString());
        Assert.StartsWith("http", gra.GetProperty("country").GetProperty("source").GetString());
        Assert.Equal("2026-11-29", gra.GetProperty("country").GetProperty("checked").GetString());

        var text = Cli.Run("backends", "show", "scw", "--data", data).Ok().Stdout;
        Assert.Contains("HDS  certified, object storage: covered (counts for placement)", text);
        Cli.Run("backends", "show", "nowhere", "--data", data).Fails(3);
    }

    [Fact]
    public void A_policy_no_backend_satisfies_is_refused_naming_bucket_backend_and_rule()
    {
        using var dir = new TempDir();
        var data = Write(dir, Health(dir, "\"SecNumCloud\""));
        var r = Cli.Run("backends", "list", "--data", data).Fails(10);
        Assert.Contains("Coffre:Buckets:health:Placement: backend 'scw' breaks Certifications: it holds no SecNumCloud covering object storage in its region.", r.Stderr);
        Assert.Contains("Coffre:Buckets:health:Placement: backend 'onprem' breaks Certifications: it holds no SecNumCloud", r.Stderr);
    }

    [Fact]
    public void Every_backend_problem_is_listed_at_once()
    {
        using var dir = new TempDir();
        var data = Write(dir, $$"""
            { "Coffre": {
                "Backend": { "Type": "s3" },
                "Backends": {
                  "a": { "Type": "local", "Path": "{{dir["same"]}}", "Provider": "ovhcloud/atlantis" },
                  "b": { "Type": "local", "Path": "{{dir["same"]}}", "Facts": { "Country": "France", "Exposures": { "us-cloud-act": "perhaps" } } },
                  "c d": { "Type": "ftp" } },
                "Buckets": { "Bad_Bucket": { "Placement": { "Backends": [ "a" ] } } } } }
            """);
        var r = Cli.Run("backends", "list", "--data", data).Fails(10);
        Assert.Contains("Coffre:Backend: is set together with Backends", r.Stderr);
        Assert.Contains("Coffre:Backends:a:Provider: 'ovhcloud/atlantis' is not a region of the provider catalog", r.Stderr);
        Assert.Contains("Coffre:Backends:b:Facts:Country: 'France' is not an ISO 3166-1 alpha-2 code", r.Stderr);
        Assert.Contains("Coffre:Backends:b:Facts:Exposures:us-cloud-act: 'perhaps' is not one of", r.Stderr);
        Assert.Contains("Coffre:Backends:c d: 'c d' is not a backend name", r.Stderr);
        Assert.Contains("Coffre:Backends:c d:Type: 'ftp' is not a backend type", r.Stderr);
        Assert.Contains("'a' and 'b' are the same storage", r.Stderr);
        Assert.Contains("Coffre:Buckets:Bad_Bucket", r.Stderr);
    }

    [Fact]
    public void The_single_Backend_section_is_the_backend_named_default()
    {
        using var dir = new TempDir();
        var data = Write(dir, $$"""{ "Coffre": { "Backend": { "Type": "local", "Path": "{{dir["objects"]}}", "Provider": "scaleway/fr-par" } } }""");
        var list = Cli.Run("backends", "list", "--json", "--data", data).Json();
        var only = Assert.Single(list.EnumerateArray());
        Assert.Equal("default", only.GetProperty("name").GetString());
        Assert.Equal("Scaleway SAS", only.GetProperty("operator").GetString());
    }

    [Fact]
    public async Task Check_probes_every_backend_and_fails_with_exit_8_naming_the_one_that_failed()
    {
        await _moto.CreateBucketAsync("probe-bucket");
        using var dir = new TempDir();
        var data = Write(dir, $$"""
            { "Coffre": { "Backends": {
                "moto":   { "Type": "s3", "S3": {{S3(_moto.Endpoint, "probe-bucket")}} },
                "gone":   { "Type": "s3", "S3": {{S3("http://127.0.0.1:1", "probe-bucket")}} },
                "onprem": { "Type": "local", "Path": "{{dir["onprem"]}}" } } } }
            """);
        var ok = Cli.Run("backends", "check", "moto", "--json", "--data", data).Json();
        Assert.True(ok[0].GetProperty("ok").GetBoolean());
        // The probe is deleted: nothing is left on the provider.
        using (var client = _moto.CreateClient())
            Assert.Empty((await client.ListObjectsV2Async(new() { BucketName = "probe-bucket" })).S3Objects ?? []);

        var all = Cli.Run("backends", "check", "--data", data);
        Assert.Equal(9, all.ExitCode);
        Assert.Contains("moto: ok", all.Stdout);
        Assert.Contains("onprem: ok", all.Stdout);
        Assert.Contains("gone: FAILED at put", all.Stdout);
        Assert.Empty(Directory.EnumerateFiles(dir["onprem"], "*", SearchOption.AllDirectories)); // the probe blob was deleted
    }

    [Fact]
    public void Providers_lists_the_catalog_regions()
    {
        using var dir = new TempDir();
        var data = Write(dir, "{}");
        var regions = Cli.Run("backends", "providers", "--json", "--data", data).Json();
        var gra = regions.EnumerateArray().Single(x => x.GetProperty("id").GetString() == "ovhcloud/gra");
        Assert.Equal("https://s3.gra.io.cloud.ovh.net", gra.GetProperty("s3Endpoint").GetString());
    }
}
