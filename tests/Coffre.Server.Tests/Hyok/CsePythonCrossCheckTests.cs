using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Coffre.Kms.Keys;
using Coffre.Server.Cse;
using Coffre.Server.Tests.Gateway;
using Coffre.TestSupport;

namespace Coffre.Server.Tests.Hyok;

/// <summary>tools/verify_cse.py re-implements the CSE wrapped key (docs/hyok.md) and Google's resource key hash in Python;
/// this runs it on a key wrapped by the face. Debian's python3 with `cryptography` is required (scripts/test.sh installs it).</summary>
public sealed class CsePythonCrossCheckTests
{
    [Fact]
    public async Task Python_decrypts_a_wrapped_key_from_the_documented_format()
    {
        using var google = new TestIssuer("https://google.test", "cse-authorization");
        using var idp = new TestIssuer("https://idp.test", "kacls");
        await using var gateway = await GatewayServer.StartAsync(configure: o => o.Cse = new CseOptions
        {
            Url = "https://kacls.test/v1", Key = "workspace", AuthorizationIssuers = [google.Options()], AuthenticationIssuers = [idp.Options()],
        });
        gateway.Keys.CreateKey("workspace", null, KeyManager.SystemPrincipal);
        var dek = new byte[32];
        Random.Shared.NextBytes(dek);
        const string resource = "//googleapis.com/drive/files/é-ü";
        var authorization = google.Token(new Dictionary<string, object>
        {
            ["email"] = "a@test", ["role"] = "writer", ["resource_name"] = resource, ["perimeter_id"] = "eu-perimeter", ["kacls_url"] = "https://kacls.test/v1",
        });
        using var http = new HttpClient { BaseAddress = new Uri(gateway.Endpoint) };
        using var response = await http.PostAsync("/v1/wrap", new StringContent(JsonSerializer.Serialize(new
        {
            authorization, authentication = idp.Token(new Dictionary<string, object> { ["email"] = "a@test" }), key = Convert.ToBase64String(dek),
        }), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var wrapped = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("wrapped_key").GetString()!;

        var (code, stdout, stderr) = Run(gateway.DataDirectory, wrapped, resource);
        Assert.True(code == 0, stderr);
        var result = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(Convert.ToHexStringLower(dek), result.GetProperty("key").GetString());
        Assert.Equal("eu-perimeter", result.GetProperty("perimeter_id").GetString());
        Assert.Equal(Convert.ToBase64String(ResourceKeyHash.Compute(dek, resource, "eu-perimeter")), result.GetProperty("resource_key_hash").GetString());

        Assert.Equal(1, Run(gateway.DataDirectory, wrapped, "another resource").Code);
    }

    private static (int Code, string Out, string Err) Run(string dataDirectory, string wrapped, string resource)
    {
        Assert.True(File.Exists("/usr/bin/python3"), "Debian's python3 is required (scripts/test.sh installs it)");
        var root = Tools.FindRepositoryRoot();
        Assert.True(root is not null, "the repository (tools/verify_cse.py) was not found above the test directory");
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(root, "tools", "verify_cse.py"), dataDirectory, GatewayServer.Passphrase, wrapped, resource })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.False(stderr.Contains("No module named 'cryptography'"), "python3-cryptography is required (scripts/test.sh installs it)");
        return (p.ExitCode, stdout, stderr);
    }
}
