using System.Diagnostics;
using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.TestSupport;

namespace Coffre.Cli.Tests;

/// <summary>
/// `coffre backup --to-backend`, `coffre backup list --backend` and `coffre restore --from-backend` on local disk and
/// moto: the machine's data directory is lost, a fresh one is restored from the backend alone (its configuration in
/// the working directory, as on a new machine), and `coffre serve` on it serves every object. A backup SIGKILLed while
/// it writes leaves the earlier backups as they were and nothing that lists as a backup; running it again works.
/// </summary>
public sealed class BackupBackendTests : IClassFixture<MotoServer>
{
    private const string BackupPassphrase = "backup passphrase for the backend tests";
    private readonly MotoServer _moto;

    public BackupBackendTests(MotoServer moto) => _moto = moto;

    [Fact]
    public async Task Local_disk_backup_killed_midway_keeps_earlier_backups_and_a_rerun_restores_onto_a_fresh_directory()
    {
        using var dir = new TempDir();
        var disk = dir["disk"];
        var settings = $$"""{ "Coffre": { "Backend": { "Type": "local", "Path": "{{disk}}" } } }""";
        var before = await WriteAsync(dir["data"], settings);

        var first = Coffre(["backup", "--to-backend", "default", "--json", "--data", dir["data"]]).Json().GetProperty("id").GetString()!;
        await KillWhileWritingAsync(dir["data"], disk);
        var listed = Coffre(["backup", "list", "--backend", "default", "--json", "--data", dir["data"]]).Json().EnumerateArray().Select(b => b.GetProperty("id").GetString()).ToList();
        Assert.Equal([first], listed);

        var second = Coffre(["backup", "--to-backend", "default", "--json", "--data", dir["data"]]).Json().GetProperty("id").GetString()!;
        listed = Coffre(["backup", "list", "--backend", "default", "--json", "--data", dir["data"]]).Json().EnumerateArray().Select(b => b.GetProperty("id").GetString()).ToList();
        Assert.Equal([first, second], listed);

        await RestoreOntoFreshMachineAsync(dir, settings, ["--latest"], before);
        Assert.Contains(first, Coffre(["restore", "--from-backend", "default", "--id", first, "--data", dir["older"]], workingDirectory: dir["machine"]).Stdout);
    }

    [Fact]
    public async Task Moto_backup_is_listed_and_restored_onto_a_fresh_directory()
    {
        var bucket = "backup-" + Guid.NewGuid().ToString("N")[..8];
        await _moto.CreateBucketAsync(bucket);
        using var dir = new TempDir();
        var settings = $$"""
            { "Coffre": { "Backend": { "Type": "s3", "S3": { "Endpoint": "{{_moto.Endpoint}}", "Bucket": "{{bucket}}", "ForcePathStyle": true,
              "AccessKeyId": "{{_moto.AccessKey}}", "SecretAccessKey": "{{_moto.SecretKey}}" } } } }
            """;
        var before = await WriteAsync(dir["data"], settings);
        var id = Coffre(["backup", "--to-backend", "default", "--json", "--data", dir["data"]]).Json().GetProperty("id").GetString()!;
        var listed = Coffre(["backup", "list", "--backend", "default", "--data", dir["data"]]).Stdout;
        Assert.Contains(id, listed);
        Assert.Equal(ExitCodes.NotFound, Cli.Run(["backup", "list", "--backend", "nowhere", "--data", dir["data"]]).ExitCode);

        await RestoreOntoFreshMachineAsync(dir, settings, [], before);
    }

    /// <summary>The data directory is lost; a new machine has only the configuration, the backup passphrase and the backend.</summary>
    private static async Task RestoreOntoFreshMachineAsync(TempDir dir, string settings, string[] choice, Dictionary<string, string> before)
    {
        Directory.Delete(dir["data"], recursive: true);
        Directory.CreateDirectory(dir["machine"]);
        File.WriteAllText(Path.Combine(dir["machine"], "appsettings.json"), settings);
        Coffre(["restore", "--from-backend", "default", .. choice, "--data", dir["restored"]], workingDirectory: dir["machine"]);
        using var serve = await CoffreServeProcess.StartAsync(dir["restored"]);
        using var s3 = serve.CreateS3Client();
        Assert.Equal(before, await SnapshotAsync(s3));
    }

    /// <summary>Starts `coffre backup --to-backend` and SIGKILLs it once the backend's temporary file for it exists.</summary>
    private static async Task KillWhileWritingAsync(string data, string disk)
    {
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true };
        foreach (var a in new[] { Cli.CoffreDll, "backup", "--to-backend", "default", "--data", data }) psi.ArgumentList.Add(a);
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("COFFRE", StringComparison.OrdinalIgnoreCase)).ToList()) psi.Environment.Remove(name);
        psi.Environment["COFFRE_BACKUP_PASSPHRASE"] = BackupPassphrase;
        using var backup = Process.Start(psi)!;
        backup.StandardInput.Close();
        // The store opens its temporary file before the Argon2id derivation lets the first byte through.
        string? partial = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!backup.HasExited && DateTime.UtcNow < deadline
            && (partial = Directory.EnumerateFiles(disk, ".tmp-*", SearchOption.AllDirectories).FirstOrDefault()) is null)
            await Task.Delay(1);
        Assert.True(partial is not null, "the backup finished before it could be killed");
        backup.Kill(); // SIGKILL
        await backup.WaitForExitAsync();
        Assert.NotEqual(0, backup.ExitCode);
    }

    private static CliResult Coffre(string[] args, string? workingDirectory = null) =>
        Cli.Exec("dotnet", [Cli.CoffreDll, .. args], new Dictionary<string, string?>
        {
            ["COFFRE_BACKUP_PASSPHRASE"] = BackupPassphrase,
            ["COFFRE_PASSPHRASE"] = CoffreServeProcess.Passphrase,
        }, workingDirectory, timeout: TimeSpan.FromMinutes(3)).Ok();

    /// <summary>A served data directory with a few objects (one multipart); what a client then reads from it.</summary>
    private static async Task<Dictionary<string, string>> WriteAsync(string data, string settings)
    {
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "appsettings.json"), settings);
        using var serve = await CoffreServeProcess.StartAsync(data);
        using var s3 = serve.CreateS3Client();
        await s3.PutBucketAsync("kept");
        for (var i = 0; i < 20; i++)
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = "kept", Key = $"file-{i}", InputStream = new MemoryStream(RandomNumberGenerator.GetBytes(1000 + i * 700)) });
        return await SnapshotAsync(s3);
    }

    private static async Task<Dictionary<string, string>> SnapshotAsync(AmazonS3Client s3)
    {
        var result = new Dictionary<string, string>();
        foreach (var o in (await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "kept" })).S3Objects)
        {
            using var get = await s3.GetObjectAsync("kept", o.Key);
            var body = new MemoryStream();
            await get.ResponseStream.CopyToAsync(body);
            result[o.Key] = Convert.ToHexString(SHA256.HashData(body.ToArray()));
        }
        return result;
    }
}
