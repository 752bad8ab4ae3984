namespace Coffre.Cli.Tests;

/// <summary>A configuration is checked as a whole before anything touches the disk.</summary>
public sealed class ConfigurationTests
{
    [Fact]
    public void Serve_lists_every_configuration_problem_at_once_and_creates_nothing()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        File.WriteAllText(dir["appsettings.json"], """
            { "Coffre": {
                "KmsAccountId": "12",
                "AuditSynchronous": "SOMETIMES",
                "Listen": "0.0.0.0:9000",
                "MaintenanceInterval": "-00:01:00",
                "LeaseDuration": "00:00:00.200",
                "AccessKeys": [ { "AccessKeyId": "app" } ],
                "Backend": { "Type": "s3", "S3": { "Endpoint": "ftp://backend.example", "Bucket": "Bad_Bucket" } }
            } }
            """);
        var r = Cli.Run(["serve", "--data", data], workingDirectory: dir.Path, timeout: TimeSpan.FromSeconds(60)).Fails(10);
        Assert.Contains("Coffre:KmsAccountId: '12' is not a 12-digit account id", r.Stderr);
        Assert.Contains("Coffre:AuditSynchronous: 'SOMETIMES' is not FULL or NORMAL", r.Stderr);
        Assert.Contains("Coffre:Listen: '0.0.0.0:9000' is not a loopback address", r.Stderr);
        Assert.Contains("Coffre:MaintenanceInterval", r.Stderr);
        Assert.Contains("Coffre:LeaseDuration: 00:00:00.2000000 is shorter than one second", r.Stderr);
        Assert.Contains("Coffre:AccessKeys:0 (app) needs an AccessKeyId and a SecretAccessKey", r.Stderr);
        Assert.Contains("Coffre:Backend:S3:Endpoint: 'ftp://backend.example' is not an absolute http:// or https:// URL", r.Stderr);
        Assert.Contains("Coffre:Backend:S3:Bucket", r.Stderr);
        Assert.Contains("Coffre:Backend:S3:AccessKeyId: required", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.False(Directory.Exists(data), "serve created the data directory before it found the configuration invalid");
    }

    [Fact]
    public void Commands_beside_the_server_refuse_an_invalid_backend_with_a_message_not_a_crash()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        Cli.Run("init", "--data", data).Ok();
        File.WriteAllText(Path.Combine(data, "appsettings.json"), """{ "Coffre": { "Backend": { "Type": "s3", "S3": { "Endpoint": "http://127.0.0.1:1" } } } }""");
        var r = Cli.Run("rewrap", "--data", data).Fails(10);
        Assert.Contains("Coffre:Backend:S3:Bucket: required", r.Stderr);
        Assert.DoesNotContain("unexpected error", r.Stderr);
        Assert.False(File.Exists(Path.Combine(data, "catalog.db")), "rewrap created the catalog before it found the configuration invalid");
    }
}
