using Coffre.TestSupport;

namespace Coffre.Server.Tests.Gateway.Clients;

/// <summary>
/// S3 versioning with real clients: boto3 (Debian's python3-boto3, tests/clients/boto3_versioning.py), and the AWS
/// CLI v2 (and v1 when installed) `s3api` commands, against a gateway on local disk; <see cref="VersioningClientMotoTests"/>
/// runs the same against a gateway whose backend is moto.
/// </summary>
public class VersioningClientTests() : GatewayClientTests("coffre-versioning-")
{
    private const string Python = "/usr/bin/python3";

    [Fact]
    public async Task Boto3_sees_versions_delete_markers_listings_and_suspension_as_s3_documents_them()
    {
        var repo = Tools.FindRepositoryRoot() ?? throw new InvalidOperationException("Coffre.sln not found above the test assembly");
        if (!File.Exists(Python)) throw new InvalidOperationException($"{Python} is missing; install python3-boto3 (sudo .ci/install-test-deps.sh).");
        var run = await Cli.RunAsync(Python, [Path.Combine(repo, "tests", "clients", "boto3_versioning.py"), Gateway.Endpoint, "boto3-versions"]);
        run.EnsureSuccess();
        Assert.Equal("ok", run.Stdout.Trim());
    }

    [Fact]
    public async Task Aws_cli_v2_s3api_versions_round_trip() => await AwsCliRoundTripAsync(CliClients.AwsV2);

    [Fact]
    public async Task Aws_cli_v1_s3api_versions_round_trip()
    {
        if (CliClients.AwsV1 is not { } v1) return; // optional client, as in AwsCliV1LocalDiskTests
        await AwsCliRoundTripAsync(v1);
    }

    private async Task AwsCliRoundTripAsync(string aws)
    {
        async Task<CliResult> Ok(params string[] args) => (await Cli.AwsAsync(aws, args)).EnsureSuccess();
        await Ok("s3api", "create-bucket", "--bucket", "cli-versions");
        await Ok("s3api", "put-bucket-versioning", "--bucket", "cli-versions", "--versioning-configuration", "Status=Enabled");
        Assert.Equal("Enabled", (await Ok("s3api", "get-bucket-versioning", "--bucket", "cli-versions")).Json().GetProperty("Status").GetString());
        var body = Path.Combine(ScratchDirectory(), "body");
        await File.WriteAllTextAsync(body, "first");
        var v1 = (await Ok("s3api", "put-object", "--bucket", "cli-versions", "--key", "k", "--body", body)).Json().GetProperty("VersionId").GetString()!;
        await File.WriteAllTextAsync(body, "second");
        var v2 = (await Ok("s3api", "put-object", "--bucket", "cli-versions", "--key", "k", "--body", body)).Json().GetProperty("VersionId").GetString()!;

        var listed = (await Ok("s3api", "list-object-versions", "--bucket", "cli-versions")).Json().GetProperty("Versions");
        Assert.Equal([v2, v1], listed.EnumerateArray().Select(v => v.GetProperty("VersionId").GetString()));
        var outFile = Path.Combine(ScratchDirectory(), "out");
        await Ok("s3api", "get-object", "--bucket", "cli-versions", "--key", "k", "--version-id", v1, outFile);
        Assert.Equal("first", await File.ReadAllTextAsync(outFile));

        await Ok("s3api", "delete-object", "--bucket", "cli-versions", "--key", "k", "--version-id", v2);
        await Ok("s3api", "get-object", "--bucket", "cli-versions", "--key", "k", outFile);
        Assert.Equal("first", await File.ReadAllTextAsync(outFile));
        var marker = (await Ok("s3api", "delete-object", "--bucket", "cli-versions", "--key", "k")).Json();
        Assert.True(marker.GetProperty("DeleteMarker").GetBoolean());
        var missing = await Cli.AwsAsync(aws, "s3api", "get-object", "--bucket", "cli-versions", "--key", "k", outFile);
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("NoSuchKey", missing.Stderr);
        var markers = (await Ok("s3api", "list-object-versions", "--bucket", "cli-versions")).Json().GetProperty("DeleteMarkers");
        Assert.Equal(marker.GetProperty("VersionId").GetString(), Assert.Single(markers.EnumerateArray()).GetProperty("VersionId").GetString());
    }
}

/// <summary><see cref="VersioningClientTests"/> over a gateway whose backend is moto: every version's ciphertext in another S3 service.</summary>
public sealed class VersioningClientMotoTests(MotoServer moto) : VersioningClientTests, IClassFixture<MotoServer>
{
    protected override Task<GatewayServer> StartGatewayAsync() => GatewayServer.StartAsync(s3Backend: moto);
}
