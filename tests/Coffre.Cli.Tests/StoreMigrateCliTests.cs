using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Coffre.Kms.Audit;
using Coffre.Server.Hosting;
using Coffre.TestSupport;
using Npgsql;

namespace Coffre.Cli.Tests;

/// <summary>
/// `coffre store migrate --to postgresql://…` as operators run it (the real CLI, a real PostgreSQL): refused while a server
/// uses the data directory; SIGKILLed mid-copy, the database refuses to be opened, and the same command resumes; the audit
/// trail verifies on the target with the source's hashes (`coffre audit verify`); then `coffre serve` on PostgreSQL serves
/// every object, KMS ciphertext, alias and access key made on SQLite.
/// </summary>
public sealed class StoreMigrateCliTests : IDisposable
{
    // Enough audit records (copied 1,000 per transaction) that the copy is still running when it is killed.
    private const int ExtraAuditRecords = 60_000;

    private readonly string _dir = Directory.CreateTempSubdirectory("coffre-storemig-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task A_SQLite_deployment_killed_mid_migration_resumes_and_PostgreSQL_serves_every_object_and_key()
    {
        Cli.Run(["init", "--data", _dir], passphrase: CoffreServeProcess.Passphrase).Ok();
        var bodies = new Dictionary<string, byte[]>();
        string keyId, ciphertext;
        using (var sqlite = await CoffreServeProcess.StartAsync(_dir))
        {
            await SignedRequests.S3Async(sqlite, HttpMethod.Put, "/photos", []);
            for (var i = 0; i < 12; i++)
            {
                var body = RandomNumberGenerator.GetBytes(1000 + i * 9000);
                bodies[$"/photos/p{i:D2}.bin"] = body;
                await SignedRequests.S3Async(sqlite, HttpMethod.Put, $"/photos/p{i:D2}.bin", body);
            }
            keyId = (await SignedRequests.KmsAsync(sqlite, "CreateKey", new { Description = "before" })).GetProperty("KeyMetadata").GetProperty("KeyId").GetString()!;
            await SignedRequests.KmsAsync(sqlite, "CreateAlias", new { AliasName = "alias/moved", TargetKeyId = keyId });
            ciphertext = (await SignedRequests.KmsAsync(sqlite, "Encrypt", new { KeyId = "alias/moved", Plaintext = Convert.ToBase64String("kms secret"u8) }))
                .GetProperty("CiphertextBlob").GetString()!;

            // Refused while a server uses the data directory, with the conflict exit code.
            var database = await PostgresServer.CreateSharedDatabaseAsync();
            var refused = Migrate(Uri(database), database).Fails(ExitCodes.Conflict);
            Assert.Contains("in use", refused.Stderr, StringComparison.Ordinal);
        }
        var accessKey = Cli.Run(["access-key", "create", "--description", "moved", "--read-bucket", "photos", "--data", _dir, "--json"],
            passphrase: CoffreServeProcess.Passphrase).Json().GetProperty("accessKeyId").GetString()!;
        await AppendAuditRecordsAsync(ExtraAuditRecords);
        Cli.Run(["audit", "checkpoint", "--data", _dir], passphrase: CoffreServeProcess.Passphrase).Ok();
        var sourceHead = SourceHead();

        var target = await PostgresServer.CreateSharedDatabaseAsync();
        await KillMidAuditCopyAsync(Uri(target), target);

        // Half a migration is refused by everything that opens the database, naming the command that finishes it.
        var halfway = Exec(["key", "list", "--data", _dir], target).Fails(ExitCodes.Conflict);
        Assert.Contains("coffre store migrate", halfway.Stderr, StringComparison.Ordinal);

        var resumed = Migrate(Uri(target), target).Json();
        Assert.True(resumed.GetProperty("resumed").GetBoolean());
        Assert.True(resumed.GetProperty("audit").GetProperty("verified").GetBoolean());
        Assert.Equal(sourceHead.Sequence, resumed.GetProperty("audit").GetProperty("head").GetInt64());
        Assert.Equal(12, resumed.GetProperty("catalog").GetProperty("objects").GetInt64());

        // The PostgreSQL rows hold the source's very records: same head hash, and the whole chain and its signed checkpoints verify.
        await using (var connection = new NpgsqlConnection(target))
        {
            await connection.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT hash FROM kms_audit WHERE seq = @s", connection);
            cmd.Parameters.AddWithValue("s", sourceHead.Sequence);
            Assert.Equal(sourceHead.Hash, (byte[])(await cmd.ExecuteScalarAsync())!);
        }
        var verified = Exec(["audit", "verify", "--data", _dir, "--json"], target).Json();
        Assert.True(verified.GetProperty("ok").GetBoolean());
        Assert.True(verified.GetProperty("recordsChecked").GetInt64() >= sourceHead.Sequence);
        Assert.True(verified.GetProperty("checkpointsChecked").GetInt64() >= 1);
        var keys = Exec(["access-key", "list", "--data", _dir, "--json"], target).Json();
        Assert.Contains(accessKey, keys.ToString(), StringComparison.Ordinal);

        // Done once: running it again is refused, and changes nothing.
        Migrate(Uri(target), target).Fails(ExitCodes.Conflict);

        using (var postgres = await CoffreServeProcess.StartAsync(_dir, new Dictionary<string, string> { ["Coffre__Database"] = target }))
        {
            foreach (var (path, body) in bodies)
                Assert.Equal(body, await SignedRequests.S3Async(postgres, HttpMethod.Get, path, []));
            var plain = await SignedRequests.KmsAsync(postgres, "Decrypt", new { CiphertextBlob = ciphertext });
            Assert.Equal("kms secret"u8.ToArray(), Convert.FromBase64String(plain.GetProperty("Plaintext").GetString()!));
            var described = await SignedRequests.KmsAsync(postgres, "DescribeKey", new { KeyId = "alias/moved" });
            Assert.Equal(keyId, described.GetProperty("KeyMetadata").GetProperty("KeyId").GetString());
            var fresh = RandomNumberGenerator.GetBytes(50_000);
            await SignedRequests.S3Async(postgres, HttpMethod.Put, "/photos/after.bin", fresh);
            Assert.Equal(fresh, await SignedRequests.S3Async(postgres, HttpMethod.Get, "/photos/after.bin", []));
        }
        Assert.True(Exec(["audit", "verify", "--data", _dir, "--json"], target).Json().GetProperty("ok").GetBoolean());
    }

    /// <summary>Starts the migration with --json progress and SIGKILLs it once it has copied part of the audit trail.</summary>
    private async Task KillMidAuditCopyAsync(string uri, string connectionString)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in new[] { Cli.CoffreDll, "store", "migrate", "--to", uri, "--data", _dir, "--json" }) psi.ArgumentList.Add(a);
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("COFFRE", StringComparison.OrdinalIgnoreCase)).ToList()) psi.Environment.Remove(name);
        psi.Environment["PGPASSWORD"] = new NpgsqlConnectionStringBuilder(connectionString).Password;
        using var first = Process.Start(psi)!;
        first.StandardInput.Close();
        var killed = false;
        while (await first.StandardError.ReadLineAsync() is { } line)
        {
            var p = JsonDocument.Parse(line).RootElement;
            if (p.GetProperty("part").GetString() == "audit" && p.GetProperty("done").GetInt64() > 0)
            {
                Assert.True(p.GetProperty("done").GetInt64() < p.GetProperty("total").GetInt64(), "the audit copy finished before it could be killed: append more records");
                first.Kill();
                killed = true;
                break;
            }
        }
        await first.WaitForExitAsync();
        Assert.True(killed, $"the migration ended (exit {first.ExitCode}) before copying the audit trail");
    }

    private async Task AppendAuditRecordsAsync(int count)
    {
        using var deployment = Deployment.Open(new DeploymentLocation(_dir), CoffreServeProcess.Passphrase);
        for (var done = 0; done < count; done += 5000)
            await deployment.Audit.AppendAsync([.. Enumerable.Range(done, 5000).Select(i =>
                new AuditEntry(DateTimeOffset.UtcNow, "test", "Encrypt", null, null, null, $"{{\"n\":{i}}}", "ok"))]);
    }

    private (long Sequence, byte[] Hash) SourceHead()
    {
        var location = new DeploymentLocation(_dir);
        using var deployment = Deployment.Open(location, CoffreServeProcess.Passphrase);
        return deployment.Audit.Head()!.Value;
    }

    /// <summary>The database as a libpq URI, as operators write it; the password travels in PGPASSWORD.</summary>
    private static string Uri(string connectionString)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        return $"postgresql://{b.Username}@{b.Host}:{b.Port}/{b.Database}?application_name=coffre-migrate";
    }

    private CliResult Migrate(string uri, string connectionString) =>
        Cli.Exec("dotnet", [Cli.CoffreDll, "store", "migrate", "--to", uri, "--data", _dir, "--json"],
            new Dictionary<string, string?> { ["PGPASSWORD"] = new NpgsqlConnectionStringBuilder(connectionString).Password }, timeout: TimeSpan.FromMinutes(5));

    /// <summary>A command on the PostgreSQL deployment (Coffre:Database from the environment, as serve takes it).</summary>
    private CliResult Exec(string[] args, string connectionString) =>
        Cli.Exec("dotnet", [Cli.CoffreDll, .. args], new Dictionary<string, string?>
        {
            ["Coffre__Database"] = connectionString,
            ["COFFRE_PASSPHRASE"] = CoffreServeProcess.Passphrase,
        }, timeout: TimeSpan.FromMinutes(5));
}
