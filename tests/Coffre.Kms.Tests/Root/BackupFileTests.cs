using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Coffre.Crypto;
using Coffre.Kms.Root;
using Coffre.Server.Hosting;

namespace Coffre.Kms.Tests.Root;

/// <summary>The backup file format (docs/format.md §11) against its vector and tools/verify_backup.py, an independent reader.</summary>
public sealed class BackupFileTests : IDisposable
{
    private const string Passphrase = "vector passphrase";
    private readonly string _dir = Directory.CreateTempSubdirectory("coffre-backupfile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Repository()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "tools", "verify_backup.py"))) dir = dir.Parent;
        Assert.True(dir is not null, "tools/verify_backup.py not found above the test directory");
        return dir.FullName;
    }

    [Fact]
    public async Task The_committed_vector_extracts_to_its_members()
    {
        var vector = JsonDocument.Parse(File.ReadAllText(Path.Combine(Repository(), "testdata", "vectors", "backup-v1.json"))).RootElement;
        using var input = new MemoryStream(Convert.FromHexString(vector.GetProperty("backup").GetString()!));
        var names = await BackupFile.ExtractAsync(input, _dir, vector.GetProperty("passphrase").GetString()!, SealOptions.InsecureArgon2ForTests, "vector");
        var members = vector.GetProperty("members").EnumerateObject().ToDictionary(m => m.Name, m => m.Value.GetString());
        Assert.Equal(members.Keys.Order(), names.Order());
        foreach (var (name, sha256) in members)
            Assert.Equal(sha256, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(_dir, name)))));
    }

    [Fact]
    public async Task Python_reads_a_backup_written_here_and_refuses_it_cut_or_altered()
    {
        var files = new Dictionary<string, byte[]>
        {
            ["manifest.json"] = """{"format":"coffre-backup","version":1,"deployment_id":"vector","created":"2026-11-29T00:00:00.000Z","database":"sqlite","files":["root.seal","keys.db"]}"""u8.ToArray(),
            ["root.seal"] = """{"format":"coffre-root-seal"}"""u8.ToArray(),
            ["keys.db"] = RandomNumberGenerator.GetBytes(70_000), // more than one 64 KiB segment
        };
        foreach (var (name, bytes) in files) File.WriteAllBytes(Path.Combine(_dir, name), bytes);
        using var output = new MemoryStream();
        await BackupFile.WriteAsync(output, [.. files.Keys.Select(n => (n, Path.Combine(_dir, n)))], Passphrase, SealOptions.InsecureArgon2ForTests);
        var vector = JsonSerializer.Serialize(new
        {
            passphrase = Passphrase,
            backup = Convert.ToHexStringLower(output.ToArray()),
            members = files.ToDictionary(f => f.Key, f => Convert.ToHexStringLower(SHA256.HashData(f.Value))),
        });
        var path = Environment.GetEnvironmentVariable("COFFRE_WRITE_BACKUP_VECTOR") ?? Path.Combine(_dir, "vector.json");
        File.WriteAllText(path, vector); // COFFRE_WRITE_BACKUP_VECTOR=testdata/vectors/backup-v1.json regenerates the committed vector

        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(Repository(), "tools", "verify_backup.py"));
        psi.ArgumentList.Add(path);
        using var p = Process.Start(psi)!;
        var all = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, all);
        Assert.Contains("backup vectors: 3 members, ok", all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_passphrase_is_an_authentication_failure()
    {
        File.WriteAllText(Path.Combine(_dir, "a"), "a");
        using var output = new MemoryStream();
        await BackupFile.WriteAsync(output, [("a", Path.Combine(_dir, "a"))], Passphrase, SealOptions.InsecureArgon2ForTests);
        output.Position = 0;
        await Assert.ThrowsAsync<AuthenticationFailedException>(() =>
            BackupFile.ExtractAsync(output, Directory.CreateTempSubdirectory().FullName, "wrong", SealOptions.InsecureArgon2ForTests, "test"));
    }
}
