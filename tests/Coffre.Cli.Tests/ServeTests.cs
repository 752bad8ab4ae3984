using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Coffre.Cli.Tests;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ServeTests
{
    [Fact]
    public async Task Serve_initialises_generates_sealed_root_credentials_once_and_answers_healthz_and_metrics()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        var port = Coffre.TestSupport.LoopbackPort.Free();
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
            Assert.DoesNotContain(Cli.Passphrase, output);
            // Standard output is a pipe here, as under a service manager: the secret goes to a 0600 file, never to the log.
            var secretFile = Path.Combine(data, "root-secret.txt");
            Assert.Contains(secretFile, secretLine);
            if (!OperatingSystem.IsWindows())
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(secretFile));
            var written = (await File.ReadAllLinesAsync(secretFile)).ToDictionary(l => l.Split('=', 2)[0], l => l.Split('=', 2)[1]);
            var secret = written["AWS_SECRET_ACCESS_KEY"];
            Assert.Equal(40, secret.Length);
            Assert.DoesNotContain(secret, output);
            Assert.Contains(written["AWS_ACCESS_KEY_ID"], output);

            var credentials = Path.Combine(data, "root-credentials.json");
            Assert.True(File.Exists(credentials));
            if (!OperatingSystem.IsWindows())
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(credentials));
            Assert.DoesNotContain(secret, await File.ReadAllTextAsync(credentials)); // sealed, not in clear

            // While serving, SQLite's journals exist beside the databases: like everything there, for this user only.
            var entries = Directory.EnumerateFileSystemEntries(data, "*", SearchOption.AllDirectories).Append(data).ToList();
            Assert.Contains(entries, e => e.EndsWith(".db-wal", StringComparison.Ordinal));
            Assert.All(entries, e => Assert.True(((int)File.GetUnixFileMode(e) & 0x3F) == 0, $"{e} is mode {File.GetUnixFileMode(e)}"));

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            Assert.Equal("ok\ndatabase keys reachable\ndatabase catalog reachable\n", await http.GetStringAsync("/healthz"));
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
        Assert.Contains("refusing to serve plain HTTP", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }
}
