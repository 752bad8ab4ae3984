using Coffre.Kms.Keys;
using Coffre.Server.Auth;
using Coffre.TestSupport;

namespace Coffre.Server.Tests.Gateway.Clients;

/// <summary>
/// boto3 (Debian's python3-boto3) runs sse_boto3.py against a real gateway: SSE-C round trips, ranges, multipart,
/// copies and a presigned GET, S3's error for a missing, wrong or malformed customer key; SSE-KMS key choice under
/// the KMS face's grants (a restricted access key is refused with AccessDenied) and bucket default encryption.
/// </summary>
public abstract class SseBoto3Tests() : GatewayClientTests("coffre-boto3-")
{
    private const string RestrictedKey = "AKIACOFFRESSELIMITED";
    private const string RestrictedSecret = "restricted-secret-key-00000000000000000001";

    protected virtual ExternalServer? Backend => null;

    protected override Task<GatewayServer> StartGatewayAsync() => GatewayServer.StartAsync(Backend, options =>
        // Every bucket, no KMS key: it may use a bucket's own key, and no other.
        options.AccessKeys.Add(new AccessKeyOptions { AccessKeyId = RestrictedKey, SecretAccessKey = RestrictedSecret, ReadBuckets = ["*"], WriteBuckets = ["*"] }));

    [Fact]
    public async Task Boto3_sse_c_and_sse_kms_requests_behave_as_in_s3()
    {
        var finance = Gateway.Keys.CreateKey("finance", "SSE-KMS test", KeyManager.SystemPrincipal);
        Gateway.Keys.CreateAlias("alias/finance", "finance", KeyManager.SystemPrincipal);
        var script = Path.Combine(Tools.FindRepositoryRoot()!, "tests", "Coffre.Server.Tests", "Gateway", "Clients", "sse_boto3.py");
        var result = await Cli.RunAsync("/usr/bin/python3", [script], new Dictionary<string, string?>
        {
            ["ENDPOINT"] = Gateway.Endpoint,
            ["ACCESS_KEY"] = GatewayServer.AccessKey,
            ["SECRET_KEY"] = GatewayServer.SecretKey,
            ["RESTRICTED_ACCESS_KEY"] = RestrictedKey,
            ["RESTRICTED_SECRET_KEY"] = RestrictedSecret,
            ["FINANCE_ARN"] = $"arn:aws:kms:us-east-1:{Gateway.Options.KmsAccountId}:key/{finance.Id}",
            ["DEFAULT_KEY_ID"] = Gateway.Keys.TryResolveKeyId("default"),
        });
        result.EnsureSuccess();
        Assert.Equal("ok", result.Stdout.Trim());
    }
}

public sealed class SseBoto3LocalDiskTests : SseBoto3Tests;

public sealed class SseBoto3MotoTests(MotoServer moto) : SseBoto3Tests, IClassFixture<MotoServer>
{
    protected override ExternalServer? Backend => moto;
}
