using Coffre.Server.Auth;
using Coffre.TestSupport;

namespace Coffre.Server.Tests.Gateway.Clients;

/// <summary>
/// S3 access control with real clients, against a gateway whose operator allows public access
/// (Coffre:S3:BlockPublicAccess=false): boto3 (tests/clients/boto3_access.py: ACLs, policies, public access block,
/// ownership, anonymous requests via botocore.UNSIGNED), the AWS CLI v2 `s3api`, curl without a signature, and s3cmd
/// `setacl`/`setpolicy`, on local disk; <see cref="AccessControlClientMotoTests"/> runs the same over moto.
/// </summary>
public class AccessControlClientTests() : GatewayClientTests("coffre-access-")
{
    private const string Python = "/usr/bin/python3";
    public const string OtherKey = "AKIAOTHERWRITER00001", OtherSecret = "other-writer-secret-for-tests-0123456789";

    internal static void PublicAccessAllowed(Hosting.CoffreServerOptions o)
    {
        o.S3.BlockPublicAccess = false;
        o.AccessKeys.Add(new AccessKeyOptions { AccessKeyId = OtherKey, SecretAccessKey = OtherSecret, Buckets = ["*"] });
    }

    protected override Task<GatewayServer> StartGatewayAsync() => GatewayServer.StartAsync(configure: PublicAccessAllowed);

    /// <summary>The HTTP status curl got for a GET without any signature; the body goes to <paramref name="download"/>.</summary>
    private async Task<string> StatusAsync(string url, string download) => (await Cli.CurlAsync(url, download)).Stdout.Trim();

    private async Task<CliResult> Aws(params string[] args) => (await Cli.AwsAsync(CliClients.AwsV2, args)).EnsureSuccess();

    [Fact]
    public async Task Boto3_sets_and_reads_acls_policies_and_public_access_blocks_and_reads_anonymously()
    {
        var repo = Tools.FindRepositoryRoot() ?? throw new InvalidOperationException("Coffre.sln not found above the test assembly");
        if (!File.Exists(Python)) throw new InvalidOperationException($"{Python} is missing; install python3-boto3 (sudo .ci/install-test-deps.sh).");
        var run = await Cli.RunAsync(Python, [Path.Combine(repo, "tests", "clients", "boto3_access.py"), Gateway.Endpoint, "boto3-access",
            Gateway.Options.KmsAccountId, OtherKey, OtherSecret]);
        run.EnsureSuccess();
        Assert.Equal("ok", run.Stdout.Trim());
    }

    [Fact]
    public async Task Aws_cli_v2_publishes_a_bucket_by_policy_and_curl_reads_it_without_a_signature()
    {
        await Aws("s3api", "create-bucket", "--bucket", "cli-public");
        var body = Path.Combine(ScratchDirectory(), "body");
        await File.WriteAllTextAsync(body, "published");
        await Aws("s3api", "put-object", "--bucket", "cli-public", "--key", "site/index.html", "--body", body);
        var download = Path.Combine(ScratchDirectory(), "download");
        var url = $"{Gateway.Endpoint}/cli-public/site/index.html";

        // Nothing configured: GET answers NoSuchPublicAccessBlockConfiguration, yet all four flags apply.
        var missing = await Cli.AwsAsync(CliClients.AwsV2, "s3api", "get-public-access-block", "--bucket", "cli-public");
        Assert.Contains("NoSuchPublicAccessBlockConfiguration", missing.Stderr);
        var statement = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::cli-public/site/*"}]}""";
        var blocked = await Cli.AwsAsync(CliClients.AwsV2, "s3api", "put-bucket-policy", "--bucket", "cli-public", "--policy", statement);
        Assert.Contains("AccessDenied", blocked.Stderr);
        Assert.Equal("403", await StatusAsync(url, download));

        await Aws("s3api", "put-public-access-block", "--bucket", "cli-public", "--public-access-block-configuration",
            "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=false,RestrictPublicBuckets=false");
        var block = (await Aws("s3api", "get-public-access-block", "--bucket", "cli-public")).Json().GetProperty("PublicAccessBlockConfiguration");
        Assert.True(block.GetProperty("BlockPublicAcls").GetBoolean());
        Assert.False(block.GetProperty("BlockPublicPolicy").GetBoolean());
        await Aws("s3api", "put-bucket-policy", "--bucket", "cli-public", "--policy", statement);
        Assert.True((await Aws("s3api", "get-bucket-policy-status", "--bucket", "cli-public")).Json().GetProperty("PolicyStatus").GetProperty("IsPublic").GetBoolean());

        // curl, no signature: GET and HEAD served; another key refused; a missing bucket is 404 NoSuchBucket.
        Assert.Equal("200", await StatusAsync(url, download));
        Assert.Equal("published", await File.ReadAllTextAsync(download));
        var head = (await Cli.RunAsync("/usr/bin/curl", ["-sS", "-I", url])).EnsureSuccess().Stdout;
        Assert.StartsWith("HTTP/1.1 200", head);
        Assert.Contains("Content-Length: 9", head, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("403", await StatusAsync($"{Gateway.Endpoint}/cli-public/other", download));
        Assert.Contains("<Code>AccessDenied</Code>", await File.ReadAllTextAsync(download));
        Assert.Equal("404", await StatusAsync($"{Gateway.Endpoint}/no-such-bucket/x", download));
        Assert.Contains("<Code>NoSuchBucket</Code>", await File.ReadAllTextAsync(download));

        // Deleting the block brings the default back: all on, the public policy serves nobody anonymous.
        await Aws("s3api", "delete-public-access-block", "--bucket", "cli-public");
        Assert.Equal("403", await StatusAsync(url, download));
    }

    [Fact]
    public async Task S3cmd_setacl_public_and_setpolicy()
    {
        async Task<CliResult> Ok(params string[] args) => (await Cli.S3cmdAsync(args)).EnsureSuccess();
        await Ok("mb", "s3://s3cmd-acl");
        await Aws("s3api", "put-public-access-block", "--bucket", "s3cmd-acl", "--public-access-block-configuration",
            "BlockPublicAcls=false,IgnorePublicAcls=false,BlockPublicPolicy=false,RestrictPublicBuckets=false");
        var file = Path.Combine(ScratchDirectory(), "file");
        await File.WriteAllTextAsync(file, "s3cmd acl");
        await Ok("put", file, "s3://s3cmd-acl/file");
        var download = Path.Combine(ScratchDirectory(), "download");
        var url = $"{Gateway.Endpoint}/s3cmd-acl/file";
        Assert.Equal("403", await StatusAsync(url, download));

        await Ok("setacl", "--acl-public", "s3://s3cmd-acl/file");
        Assert.Contains("*anon*: READ", (await Ok("info", "s3://s3cmd-acl/file")).Stdout);
        Assert.Equal("200", await StatusAsync(url, download));
        await Ok("setacl", "--acl-private", "s3://s3cmd-acl/file");
        Assert.Equal("403", await StatusAsync(url, download));

        var policy = Path.Combine(ScratchDirectory(), "policy.json");
        await File.WriteAllTextAsync(policy,
            """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::s3cmd-acl/*"]}]}""");
        await Ok("setpolicy", policy, "s3://s3cmd-acl");
        Assert.Equal("200", await StatusAsync(url, download));
        await Ok("delpolicy", "s3://s3cmd-acl");
        Assert.Equal("403", await StatusAsync(url, download));
    }
}

/// <summary><see cref="AccessControlClientTests"/> over a gateway whose backend is moto.</summary>
public sealed class AccessControlClientMotoTests(MotoServer moto) : AccessControlClientTests, IClassFixture<MotoServer>
{
    protected override Task<GatewayServer> StartGatewayAsync() => GatewayServer.StartAsync(s3Backend: moto, configure: PublicAccessAllowed);
}
