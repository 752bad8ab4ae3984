using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Coffre.Cli.Tests;

/// <summary>`coffre access-key`: offline on a data directory, against a running `coffre serve` (revocation reaching it,
/// the admin API through --endpoint), and the created secrets used by the real AWS CLI.</summary>
public sealed class AccessKeyTests(DataDirFixture fixture) : IClassFixture<DataDirFixture>
{
    private const string RootAccessKey = "COFFREROOTTEST000001";
    private const string RootSecret = "root-secret-for-access-key-tests-0000001";

    private static bool InFile(string path, string text)
    {
        if (!File.Exists(path)) return false;
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var m = new MemoryStream();
        f.CopyTo(m);
        return m.ToArray().AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
    }

    [Fact]
    public void Offline_create_list_show_grant_rotate_revoke_and_every_change_is_audited()
    {
        var created = fixture.Run("access-key", "create", "--read-bucket", "reports", "--description", "backup job", "--json").Json();
        var id = created.GetProperty("accessKeyId").GetString()!;
        var secret = created.GetProperty("secretAccessKey").GetString()!;
        Assert.Matches("^COFFRE[A-Z2-7]{14}$", id);
        Assert.Equal(40, secret.Length);
        foreach (var file in Directory.GetFiles(fixture.Data)) Assert.False(InFile(file, secret), $"the secret is in {file} in clear");

        Assert.Contains(fixture.Run("access-key", "list", "--json").Json().EnumerateArray(), k => k.GetProperty("accessKeyId").GetString() == id);
        var shown = fixture.Run("access-key", "show", id, "--json").Json();
        Assert.False(shown.TryGetProperty("secretAccessKey", out _));
        Assert.Equal(["reports"], shown.GetProperty("grants").GetProperty("readBuckets").EnumerateArray().Select(e => e.GetString()));

        var granted = fixture.Run("access-key", "grant", id, "--write-bucket", "reports", "--json").Json();
        Assert.Equal(["reports"], granted.GetProperty("grants").GetProperty("writeBuckets").EnumerateArray().Select(e => e.GetString()));
        fixture.Run("access-key", "grant", id, "--kms-key", "*", "--kms-operation", "ScheduleKeyDeletion").Fails(ExitCodes.Usage);

        var rotated = fixture.Run("access-key", "rotate", id, "--json").Json().GetProperty("secretAccessKey").GetString()!;
        Assert.NotEqual(secret, rotated);
        var revoked = fixture.Run("access-key", "revoke", id, "--json").Json();
        Assert.True(revoked.TryGetProperty("revoked", out var when) && when.ValueKind == System.Text.Json.JsonValueKind.String);
        fixture.Run("access-key", "rotate", id).Fails(ExitCodes.Conflict);
        fixture.Run("access-key", "show", "COFFRENOSUCHKEY00000").Fails(ExitCodes.NotFound);

        var audit = fixture.Run("audit", "list", "--json").Ok().Stdout;
        foreach (var op in new[] { "CreateAccessKey", "GrantAccessKey", "RotateAccessKey", "RevokeAccessKey" }) Assert.Contains(op, audit);
        Assert.DoesNotContain(secret, audit);
        Assert.DoesNotContain(rotated, audit);
        fixture.Run("audit", "verify").Ok();
    }

    /// <summary>The real AWS CLI with these credentials against the endpoint; returns its result.</summary>
    private static CliResult Aws(string endpoint, string accessKey, string secret, params string[] args) =>
        Cli.Exec("aws", ["--endpoint-url", endpoint, "--region", "us-east-1", .. args], new Dictionary<string, string?>
        {
            ["AWS_ACCESS_KEY_ID"] = accessKey,
            ["AWS_SECRET_ACCESS_KEY"] = secret,
            ["AWS_CONFIG_FILE"] = "/dev/null",
            ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null",
            ["AWS_PAGER"] = "",
        });

    private static CliResult Remote(string endpoint, string accessKey, string secret, params string[] args) =>
        Cli.Exec("dotnet", [Cli.CoffreDll, "access-key", .. args, "--endpoint", endpoint], new Dictionary<string, string?>
        {
            ["AWS_ACCESS_KEY_ID"] = accessKey,
            ["AWS_SECRET_ACCESS_KEY"] = secret,
        });

    [Fact]
    public async Task Against_a_running_server_keys_made_through_the_admin_API_work_with_the_aws_cli_and_an_offline_revocation_reaches_it()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        Cli.Run("init", "--data", data).Ok();
        var port = Coffre.TestSupport.LoopbackPort.Free();
        var endpoint = $"http://127.0.0.1:{port}";
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Cli.CoffreDll, "serve", "--data", data, "--listen", $"127.0.0.1:{port}" }) psi.ArgumentList.Add(a);
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("COFFRE", StringComparison.OrdinalIgnoreCase)).ToList()) psi.Environment.Remove(name);
        psi.Environment["COFFRE_PASSPHRASE"] = Cli.Passphrase;
        psi.Environment["COFFRE_ROOT_ACCESS_KEY"] = RootAccessKey;
        psi.Environment["COFFRE_ROOT_SECRET_KEY"] = RootSecret;
        using var server = Process.Start(psi)!;
        server.StandardInput.Close();
        var stderr = server.StandardError.ReadToEndAsync();
        try
        {
            while (await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)) is { } line)
                if (line.Contains("Health:")) break;
            Assert.False(server.HasExited, "serve exited: " + (server.HasExited ? await stderr : ""));

            // Through the admin API, with the root credentials (every grant).
            var created = Remote(endpoint, RootAccessKey, RootSecret, "create", "--read-bucket", "team", "--write-bucket", "team", "--json").Json();
            var id = created.GetProperty("accessKeyId").GetString()!;
            var secret = created.GetProperty("secretAccessKey").GetString()!;
            var file = dir["upload.txt"];
            await File.WriteAllTextAsync(file, "made by a key created at run time");
            Aws(endpoint, id, secret, "s3", "mb", "s3://team").Ok();
            Aws(endpoint, id, secret, "s3", "cp", file, "s3://team/upload.txt").Ok();
            Assert.Contains("made by a key created at run time", Aws(endpoint, id, secret, "s3", "cp", "s3://team/upload.txt", "-").Ok().Stdout);
            // The new key holds no admin grant: it cannot make itself more.
            Remote(endpoint, id, secret, "grant", id, "--admin").Fails(ExitCodes.AccessDenied);
            var elsewhere = Aws(endpoint, id, secret, "s3", "mb", "s3://elsewhere");
            Assert.NotEqual(0, elsewhere.ExitCode);
            Assert.Contains("AccessDenied", elsewhere.Stderr);

            // Offline, on the same data directory, while the server runs: applied within the refresh interval.
            Cli.Run("access-key", "revoke", id, "--data", data).Ok();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            CliResult probe;
            do probe = Aws(endpoint, id, secret, "s3api", "list-objects-v2", "--bucket", "team");
            while (probe.ExitCode == 0 && DateTime.UtcNow < deadline);
            Assert.NotEqual(0, probe.ExitCode);
            Assert.Contains("InvalidAccessKeyId", probe.Stderr);
        }
        finally
        {
            if (!server.HasExited) server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }
}
