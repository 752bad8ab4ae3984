using Coffre.TestSupport;

namespace Coffre.Server.Tests.Gateway.Clients;

/// <summary>
/// Object tagging and storage classes with real clients: boto3 (Debian's python3-boto3, tests/clients/boto3_tagging.py)
/// and the AWS CLI v2 `s3api` commands, against a gateway on local disk; <see cref="TaggingClientMotoTests"/> runs the
/// same against a gateway whose backend is moto.
/// </summary>
public class TaggingClientTests() : GatewayClientTests("coffre-tagging-")
{
    private const string Python = "/usr/bin/python3";

    [Fact]
    public async Task Boto3_sees_tags_storage_classes_and_attributes_as_s3_documents_them()
    {
        var repo = Tools.FindRepositoryRoot() ?? throw new InvalidOperationException("Coffre.sln not found above the test assembly");
        if (!File.Exists(Python)) throw new InvalidOperationException($"{Python} is missing; install python3-boto3 (sudo .ci/install-test-deps.sh).");
        var run = await Cli.RunAsync(Python, [Path.Combine(repo, "tests", "clients", "boto3_tagging.py"), Gateway.Endpoint, "boto3-tagging"]);
        run.EnsureSuccess();
        Assert.Equal("ok", run.Stdout.Trim());
    }

    [Fact]
    public async Task Aws_cli_v2_s3api_tags_and_storage_classes()
    {
        var aws = CliClients.AwsV2;
        async Task<CliResult> Ok(params string[] args) => (await Cli.AwsAsync(aws, args)).EnsureSuccess();
        await Ok("s3api", "create-bucket", "--bucket", "cli-tags");
        var body = Path.Combine(ScratchDirectory(), "body");
        await File.WriteAllTextAsync(body, "tagged");
        await Ok("s3api", "put-object", "--bucket", "cli-tags", "--key", "k", "--body", body, "--tagging", "a=1&b=two", "--storage-class", "STANDARD_IA");
        var tagSet = (await Ok("s3api", "get-object-tagging", "--bucket", "cli-tags", "--key", "k")).Json().GetProperty("TagSet");
        Assert.Equal([("a", "1"), ("b", "two")], tagSet.EnumerateArray().Select(t => (t.GetProperty("Key").GetString(), t.GetProperty("Value").GetString())));
        var head = (await Ok("s3api", "head-object", "--bucket", "cli-tags", "--key", "k")).Json();
        Assert.Equal("STANDARD_IA", head.GetProperty("StorageClass").GetString());

        await Ok("s3api", "put-object-tagging", "--bucket", "cli-tags", "--key", "k", "--tagging", "TagSet=[{Key=c,Value=3}]");
        tagSet = (await Ok("s3api", "get-object-tagging", "--bucket", "cli-tags", "--key", "k")).Json().GetProperty("TagSet");
        Assert.Equal("c", Assert.Single(tagSet.EnumerateArray()).GetProperty("Key").GetString());
        await Ok("s3api", "delete-object-tagging", "--bucket", "cli-tags", "--key", "k");
        Assert.Empty((await Ok("s3api", "get-object-tagging", "--bucket", "cli-tags", "--key", "k")).Json().GetProperty("TagSet").EnumerateArray());

        var listed = (await Ok("s3api", "list-objects-v2", "--bucket", "cli-tags")).Json().GetProperty("Contents");
        Assert.Equal("STANDARD_IA", Assert.Single(listed.EnumerateArray()).GetProperty("StorageClass").GetString());
        // `aws s3 cp` with --storage-class, and a bad class refused with S3's code.
        await Ok("s3", "cp", body, "s3://cli-tags/glacier", "--storage-class", "GLACIER");
        Assert.Equal("GLACIER", (await Ok("s3api", "head-object", "--bucket", "cli-tags", "--key", "glacier")).Json().GetProperty("StorageClass").GetString());
        var bad = await Cli.AwsAsync(aws, "s3api", "put-object", "--bucket", "cli-tags", "--key", "bad", "--body", body, "--storage-class", "TAPE");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("InvalidStorageClass", bad.Stderr);

        await Ok("s3api", "put-bucket-tagging", "--bucket", "cli-tags", "--tagging", "TagSet=[{Key=team,Value=storage}]");
        Assert.Equal("storage", (await Ok("s3api", "get-bucket-tagging", "--bucket", "cli-tags")).Json().GetProperty("TagSet")[0].GetProperty("Value").GetString());
    }
}

/// <summary><see cref="TaggingClientTests"/> over a gateway whose backend is moto.</summary>
public sealed class TaggingClientMotoTests(MotoServer moto) : TaggingClientTests, IClassFixture<MotoServer>
{
    protected override Task<GatewayServer> StartGatewayAsync() => GatewayServer.StartAsync(s3Backend: moto);
}
