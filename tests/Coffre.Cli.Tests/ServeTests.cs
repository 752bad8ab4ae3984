using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Coffre.Cli.Tests;

public sealed class ServeTests
{
    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    [Fact]
    public async Task Serve_initialises_generates_sealed_root_credentials_once_and_answers_healthz_and_metrics()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        var port = FreePort();
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dir.Path,
        };
        foreach (var a in new[] { Cli.CoffreDll, "serve", "--data", data, "--listen", $"127.0.0.1:{port}" }) psi.ArgumentList.Add(a);
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("COFFRE", StringComparison.OrdinalIgnoreCase)).ToList())
            psi.Environment.Remove(name);
        psi.Environment["COFFRE_PASSPHRASE"] = Cli.Passphrase;
        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            var lines = new List<string>();
            while (await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)) is { } line)
            {
                lines.Add(line);
                if (line.Contains("Health:")) break;
            }
            var output = string.Join("\n", lines);
            Assert.True(output.Contains("Health:"), $"serve did not start:\n{output}\n{(process.HasExited ? await stderr : "")}");
            Assert.Contains("Access key:", output);
            var secretLine = Assert.Single(lines, l => l.Contains("Secret key:"));
            Assert.Contains("shown once", secretLine);
            Assert.DoesNotContain(Cli.Passphrase, output);

            var credentials = Path.Combine(data, "root-credentials.json");
            Assert.True(File.Exists(credentials));
            if (!OperatingSystem.IsWindows())
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(credentials));
            var secret = secretLine.Split(':', 2)[1].Trim().Split(' ')[0];
            Assert.DoesNotContain(secret, await File.ReadAllTextAsync(credentials)); // sealed, not in clear

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            Assert.Equal("ok\n", await http.GetStringAsync("/healthz"));
            var metrics = await http.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
            var anonymous = await http.GetAsync("/");
            Assert.Equal(HttpStatusCode.Forbidden, anonymous.StatusCode);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        // The data directory serve created is a normal one: the default key exists, the audit chain verifies.
        Assert.Equal("default", Cli.Run("key", "show", "default", "--data", data, "--json").Json().GetProperty("name").GetString());
        Cli.Run("audit", "verify", "--data", data).Ok();
    }

    [Fact]
    public void Serve_refuses_plain_http_on_a_public_address_with_one_line_and_exit_10()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        Cli.Run("init", "--data", data).Ok();
        var r = Cli.Run(["serve", "--data", data, "--listen", "0.0.0.0:0"], timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(10, r.ExitCode);
        Assert.Contains("Refusing to serve plain HTTP", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }
}
