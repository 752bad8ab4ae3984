using System.Diagnostics;
using Coffre.TestSupport;

namespace Coffre.Deployment.Tests;

/// <summary>
/// The S3 conformance suite (tests/conformance, boto3 + pytest, written from the S3 API reference) against moto, as a
/// check of the suite itself (moto's known differences are marked per target), and against a real `coffre serve`.
/// </summary>
public sealed class ConformanceSuiteTests
{
    private static async Task RunSuiteAsync(string endpoint, string accessKey, string secretKey, string target, string accountId)
    {
        var runner = Path.Combine(Tools.FindRepositoryRoot() ?? throw new InvalidOperationException("Coffre.sln not found above the test assembly"),
            "tests", "conformance", "run.sh");
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { runner, "--endpoint-url", endpoint, "--access-key", accessKey, "--secret-key", secretKey, "--target", target, "--account-id", accountId })
            psi.ArgumentList.Add(a);
        psi.Environment.Remove("AWS_CA_BUNDLE");
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"the conformance suite failed against {target} (exit {process.ExitCode}):\n{await stdout}\n{await stderr}");
    }

    [Fact]
    public async Task The_suite_passes_against_moto_where_moto_follows_AWS()
    {
        using var moto = new MotoServer();
        await moto.StartAsync();
        await RunSuiteAsync(moto.Endpoint, moto.AccessKey, moto.SecretKey, "moto", "123456789012");
    }

    [Fact]
    public async Task The_suite_passes_against_coffre_serve()
    {
        var data = Directory.CreateTempSubdirectory("coffre-conformance-");
        try
        {
            using var server = await CoffreServeProcess.StartAsync(data.FullName);
            // Every bucket belongs to the deployment's account, Coffre:KmsAccountId (default 000000000000).
            await RunSuiteAsync(server.Endpoint, CoffreServeProcess.AccessKey, CoffreServeProcess.SecretKey, "coffre", "000000000000");
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }
}
