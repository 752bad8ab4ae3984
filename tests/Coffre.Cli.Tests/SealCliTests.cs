using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Coffre.Cli.Tests;

/// <summary>`coffre init --shares`, offline use of a Shamir root, `rekey`, and `serve` started sealed with `unseal`, `status`, `seal`.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SealCliTests
{
    private const string AdminKey = "AKIASEALCLITEST00001";
    private const string AdminSecret = "seal-cli-test-secret-0000000000000000001";

    private static string[] Shares(CliResult init) =>
        [.. init.Json().GetProperty("shares").EnumerateArray().Select(s => s.GetString()!)];

    [Fact]
    public void Init_with_shares_prints_them_once_and_offline_commands_need_a_quorum()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        var shares = Shares(Cli.Run(["init", "--data", data, "--shares", "3", "--threshold", "2", "--json"], passphrase: null));
        Assert.Equal(3, shares.Length);
        Assert.All(shares, s => Assert.StartsWith("coffre-share:", s));
        var onDisk = string.Concat(Directory.EnumerateFiles(data).Select(File.ReadAllText));
        Assert.All(shares, s => Assert.DoesNotContain(s["coffre-share:".Length..], onDisk));

        Cli.Run(["key", "create", "k", "--data", data], passphrase: null, stdin: $"{shares[2]}\n{shares[0]}\n").Ok();
        Cli.Run(["key", "show", "k", "--data", data], passphrase: null, stdin: $"{shares[0]}\n").Fails(ExitCodes.Usage);
        Cli.Run(["key", "show", "k", "--data", data], passphrase: null, stdin: $"{shares[0]}\n{shares[0]}\n").Fails(ExitCodes.AuthenticationFailed);
        Cli.Run(["init", "--data", dir["other"], "--shares", "3", "--threshold", "4"], passphrase: null).Fails(ExitCodes.Usage);

        // Rekey with a quorum of the old shares: the old ones stop working, the new ones open the same keys.
        var fresh = Shares(Cli.Run(["rekey", "--data", data, "--shares", "4", "--threshold", "3", "--json"], passphrase: null, stdin: $"{shares[1]}\n{shares[2]}\n"));
        Assert.Equal(4, fresh.Length);
        Cli.Run(["key", "show", "k", "--data", data], passphrase: null, stdin: $"{shares[1]}\n{shares[2]}\n").Fails(ExitCodes.AuthenticationFailed);
        Assert.Equal("k", Cli.Run(["key", "show", "k", "--data", data, "--json"], passphrase: null, stdin: $"{fresh[3]}\n{fresh[0]}\n{fresh[1]}\n")
            .Json().GetProperty("name").GetString());
        Cli.Run(["audit", "verify", "--data", data], passphrase: null, stdin: $"{fresh[3]}\n{fresh[0]}\n{fresh[1]}\n").Ok();
    }

    [Fact]
    public async Task Serve_with_a_Shamir_root_starts_sealed_and_officers_unseal_it_with_the_cli()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        var shares = Shares(Cli.Run(["init", "--data", data, "--shares", "3", "--threshold", "2", "--json"], passphrase: null));
        int port;
        using (var l = new TcpListener(IPAddress.Loopback, 0))
        {
            l.Start();
            port = ((IPEndPoint)l.LocalEndpoint).Port;
        }
        var endpoint = $"http://127.0.0.1:{port}";
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = dir.Path,
        };
        foreach (var a in new[] { Cli.CoffreDll, "serve", "--data", data, "--listen", $"127.0.0.1:{port}" }) psi.ArgumentList.Add(a);
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("COFFRE", StringComparison.OrdinalIgnoreCase)).ToList())
            psi.Environment.Remove(name);
        psi.Environment["COFFRE_ROOT_ACCESS_KEY"] = AdminKey;
        psi.Environment["COFFRE_ROOT_SECRET_KEY"] = AdminSecret;
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
            Assert.True(lines.Any(l => l.Contains("SEALED")), $"serve did not start sealed:\n{string.Join("\n", lines)}\n{(process.HasExited ? await stderr : "")}");
            using var http = new HttpClient();
            var health = await http.GetAsync(endpoint + "/healthz");
            Assert.Equal((HttpStatusCode.ServiceUnavailable, "sealed\n"), (health.StatusCode, await health.Content.ReadAsStringAsync()));

            var sealedStatus = Cli.Run(["status", "--endpoint", endpoint], passphrase: null);
            Assert.Equal((ExitCodes.Sealed, "sealed (shamir root): 0 of 2 shares in (of 3 issued)\n"), (sealedStatus.ExitCode, sealedStatus.Stdout));
            Assert.Contains("1 of 2", Cli.Run(["unseal", "--endpoint", endpoint], passphrase: null, stdin: shares[1] + "\n").Ok().Stdout);
            Cli.Run(["unseal", "--endpoint", endpoint], passphrase: null, stdin: shares[1] + "\n").Fails(ExitCodes.AuthenticationFailed);
            Assert.Contains("0 of 2", Cli.Run(["status", "--endpoint", endpoint], passphrase: null).Stdout);
            Cli.Run(["unseal", "--endpoint", endpoint], passphrase: null, stdin: shares[0] + "\n").Ok();
            Assert.Contains("unsealed", Cli.Run(["unseal", "--endpoint", endpoint], passphrase: null, stdin: shares[2] + "\n").Ok().Stdout);
            Assert.Equal("ok\ndatabase keys reachable\ndatabase catalog reachable\n", await http.GetStringAsync(endpoint + "/healthz"));
            var status = Cli.Run(["status", "--endpoint", endpoint, "--json"], passphrase: null).Json();
            Assert.False(status.GetProperty("sealed").GetBoolean());

            // Sealing needs the admin grant's credentials.
            Cli.Run(["seal", "--endpoint", endpoint], passphrase: null).Fails(ExitCodes.Usage);
            var environment = new Dictionary<string, string?> { ["AWS_ACCESS_KEY_ID"] = AdminKey, ["AWS_SECRET_ACCESS_KEY"] = AdminSecret };
            Assert.Contains("sealed", Cli.Exec("dotnet", [Cli.CoffreDll, "seal", "--endpoint", endpoint], environment).Ok().Stdout);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync(endpoint + "/healthz")).StatusCode);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        var audit = Cli.Run(["audit", "list", "--data", data, "--json"], passphrase: null, stdin: $"{shares[0]}\n{shares[2]}\n").Ok().Stdout;
        Assert.Contains("\"Seal\"", audit);
        Assert.Contains("\"Unseal\"", audit);
        Assert.Contains("\"UnsealShare\"", audit);
    }
}
