using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Coffre.TestSupport;

namespace Coffre.Cli.Tests;

/// <summary>
/// `coffre backup` beside a running `coffre serve` under writes, `coffre restore` into a fresh directory served again, and
/// backups cut short (SIGKILL, truncation) that restore refuses.
/// </summary>
public sealed class BackupCliTests : IDisposable
{
    private const string BackupPassphrase = "backup passphrase for the safe";
    private readonly string _root = Directory.CreateTempSubdirectory("coffre-backup-").FullName;

    private string Data => Path.Combine(_root, "data");
    private string Objects => Path.Combine(_root, "objects");

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private static Dictionary<string, string?> Environment() => new()
    {
        ["COFFRE_PASSPHRASE"] = CoffreServeProcess.Passphrase,
        ["COFFRE_BACKUP_PASSPHRASE"] = BackupPassphrase,
    };

    /// <summary>The ciphertext stays at the backend (here a directory outside the data directory), as at a provider.</summary>
    private Dictionary<string, string> ServeEnvironment() => new() { ["Coffre__Backend__Path"] = Objects };

    [Fact]
    public async Task A_backup_taken_under_writes_restores_into_a_fresh_directory_that_serves_every_object_acknowledged_before_it()
    {
        Cli.Run(["init", "--data", Data], passphrase: CoffreServeProcess.Passphrase).Ok();
        var acknowledged = new ConcurrentDictionary<string, byte[]>();
        // One audit checkpoint, published at start: a later one (every MaintenanceInterval) published at the backend
        // after the backup would rightly make the restored trail look rolled back, on a slow run.
        var serving = new Dictionary<string, string>(ServeEnvironment()) { ["Coffre__MaintenanceInterval"] = "01:00:00" };
        using (var server = await CoffreServeProcess.StartAsync(Data, serving))
        {
            await SignedRequests.S3Async(server, HttpMethod.Put, "/bkp", []);
            using var stop = new CancellationTokenSource();
            var writer = Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var body = RandomNumberGenerator.GetBytes(1000 + i * 37 % 50_000);
                    await SignedRequests.S3Async(server, HttpMethod.Put, $"/bkp/o{i}", body);
                    acknowledged[$"o{i}"] = body;
                }
            });
            while (acknowledged.Count < 20) await Task.Delay(20);
            var before = acknowledged.ToDictionary(e => e.Key, e => e.Value);
            var file = Path.Combine(_root, "deployment.cfrb");
            var backup = Cli.Exec("dotnet", [Cli.CoffreDll, "backup", "--to", file, "--data", Data, "--json"], Environment()).Json();
            Assert.Contains("keys.db", backup.GetProperty("files").EnumerateArray().Select(f => f.GetString()));
            Assert.Contains("catalog.db", backup.GetProperty("files").EnumerateArray().Select(f => f.GetString()));
            await stop.CancelAsync();
            await writer;
            Assert.True(acknowledged.Count > before.Count, "writes went on during the backup");

            var fresh = Path.Combine(_root, "restored");
            Cli.Exec("dotnet", [Cli.CoffreDll, "restore", file, "--data", fresh], Environment()).Ok();
            server.Kill();
            using var restored = await CoffreServeProcess.StartAsync(fresh, ServeEnvironment());
            foreach (var (name, body) in before)
                Assert.Equal(body, await SignedRequests.S3Async(restored, HttpMethod.Get, $"/bkp/{name}", []));
            restored.Kill();
            var verify = Cli.Exec("dotnet", [Cli.CoffreDll, "audit", "verify", "--data", fresh],
                new Dictionary<string, string?>(Environment()) { ["Coffre__Backend__Path"] = Objects });
            Assert.True(verify.ExitCode == 0, verify.All);

            // Into a directory that holds something: refused, nothing changed.
            var again = Cli.Exec("dotnet", [Cli.CoffreDll, "restore", file, "--data", fresh], Environment());
            Assert.Equal(ExitCodes.Conflict, again.ExitCode);
        }
    }

    [Fact]
    public async Task A_backup_killed_or_truncated_is_never_restored()
    {
        Cli.Run(["init", "--data", Data], passphrase: CoffreServeProcess.Passphrase).Ok();
        Cli.Run(["key", "create", "k", "--data", Data], passphrase: CoffreServeProcess.Passphrase).Ok();
        var file = Path.Combine(_root, "killed.cfrb");

        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { Cli.CoffreDll, "backup", "--to", file, "--data", Data }) psi.ArgumentList.Add(a);
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("COFFRE", StringComparison.OrdinalIgnoreCase)).ToList()) psi.Environment.Remove(name);
        psi.Environment["COFFRE_BACKUP_PASSPHRASE"] = BackupPassphrase;
        using (var backup = Process.Start(psi)!)
        {
            // Killed as soon as its output file is being written (the Argon2id derivation runs after it is created).
            string? partial = null;
            while (!backup.HasExited && (partial = Directory.EnumerateFiles(_root, ".killed.cfrb.*.partial").FirstOrDefault()) is null) await Task.Delay(1);
            Assert.True(partial is not null, "the backup finished before it could be killed");
            backup.Kill();
            await backup.WaitForExitAsync();
            Assert.False(File.Exists(file), "a killed backup must not leave a file under its final name");
            AssertRefused(partial);
        }

        var complete = Path.Combine(_root, "complete.cfrb");
        Cli.Exec("dotnet", [Cli.CoffreDll, "backup", "--to", complete, "--data", Data], Environment()).Ok();
        var bytes = File.ReadAllBytes(complete);
        foreach (var length in new[] { 10, 40, bytes.Length / 2, bytes.Length - 1 })
        {
            var cut = Path.Combine(_root, $"cut-{length}.cfrb");
            File.WriteAllBytes(cut, bytes[..length]);
            AssertRefused(cut);
        }
        var wrong = Cli.Exec("dotnet", [Cli.CoffreDll, "restore", complete, "--data", Path.Combine(_root, "wrong")],
            new Dictionary<string, string?> { ["COFFRE_BACKUP_PASSPHRASE"] = "not the backup passphrase" });
        Assert.Equal(ExitCodes.AuthenticationFailed, wrong.ExitCode);
        Assert.False(Directory.Exists(Path.Combine(_root, "wrong")));
        Cli.Exec("dotnet", [Cli.CoffreDll, "restore", complete, "--data", Path.Combine(_root, "whole")], Environment()).Ok();
    }

    private void AssertRefused(string backupFile)
    {
        var target = Path.Combine(_root, "from-" + Path.GetFileName(backupFile));
        var result = Cli.Exec("dotnet", [Cli.CoffreDll, "restore", backupFile, "--data", target], Environment());
        Assert.True(result.ExitCode != 0, $"restore accepted {backupFile}: {result.All}");
        Assert.False(Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any(), $"restore of {backupFile} left files behind");
        Assert.Empty(Directory.EnumerateDirectories(_root, "*.restoring"));
    }
}
