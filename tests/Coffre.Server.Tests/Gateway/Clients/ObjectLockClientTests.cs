using Coffre.TestSupport;

namespace Coffre.Server.Tests.Gateway.Clients;

/// <summary>
/// S3 Object Lock and lifecycle configuration with boto3 (Debian's python3-boto3, tests/clients/boto3_object_lock.py)
/// against a gateway on local disk; <see cref="ObjectLockClientMotoTests"/> runs the same over moto.
/// </summary>
public class ObjectLockClientTests() : GatewayClientTests("coffre-object-lock-")
{
    private const string Python = "/usr/bin/python3";

    [Fact]
    public async Task Boto3_sees_retention_legal_holds_and_refused_deletes_as_s3_documents_them()
    {
        var repo = Tools.FindRepositoryRoot() ?? throw new InvalidOperationException("Coffre.sln not found above the test assembly");
        if (!File.Exists(Python)) throw new InvalidOperationException($"{Python} is missing; install python3-boto3 (sudo .ci/install-test-deps.sh).");
        var run = await Cli.RunAsync(Python, [Path.Combine(repo, "tests", "clients", "boto3_object_lock.py"), Gateway.Endpoint, "boto3-lock"]);
        run.EnsureSuccess();
        Assert.Equal("ok", run.Stdout.Trim());
    }
}

public sealed class ObjectLockClientMotoTests(MotoServer moto) : ObjectLockClientTests, IClassFixture<MotoServer>
{
    protected override Task<GatewayServer> StartGatewayAsync() => GatewayServer.StartAsync(s3Backend: moto);
}
