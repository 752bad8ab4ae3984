using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Coffre.Kms;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Kms.Root;
using Coffre.Server.Hosting;
using Coffre.Server.Signing;
using Coffre.TestSupport;

namespace Coffre.Cli.Tests;

/// <summary>
/// `coffre root migrate` as operators run it (the real CLI), and `coffre serve` on the migrated data directory: S3 objects
/// and KMS ciphertexts made before the migration read back after, with the root in a real SoftHSM2 token; a migration
/// killed with SIGKILL resumes.
/// </summary>
public sealed class RootMigrationCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("coffre-rootmig-").FullName;
    private readonly SoftHsmToken _hsm = new();

    public void Dispose()
    {
        _hsm.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task A_passphrase_deployment_moved_into_an_HSM_serves_what_it_stored_before_and_a_wrong_PIN_refuses_to_start()
    {
        Cli.Run(["init", "--data", _dir], passphrase: CoffreServeProcess.Passphrase).Ok();
        var body = RandomNumberGenerator.GetBytes(200_000);
        string keyId, ciphertext;
        using (var before = await CoffreServeProcess.StartAsync(_dir))
        {
            await SignedRequests.S3Async(before, HttpMethod.Put, "/photos", []);
            await SignedRequests.S3Async(before, HttpMethod.Put, "/photos/before.bin", body);
            keyId = (await SignedRequests.KmsAsync(before, "CreateKey", new { Description = "before" })).GetProperty("KeyMetadata").GetProperty("KeyId").GetString()!;
            ciphertext = (await SignedRequests.KmsAsync(before, "Encrypt", new { KeyId = keyId, Plaintext = Convert.ToBase64String("kms secret"u8) }))
                .GetProperty("CiphertextBlob").GetString()!;
        }

        // Refused while a server runs on the data directory.
        var hsmEnvironment = new Dictionary<string, string?>(_hsm.Environment.ToDictionary(e => e.Key, e => (string?)e.Value))
        {
            ["COFFRE_PASSPHRASE"] = CoffreServeProcess.Passphrase,
            ["COFFRE_HSM_PIN"] = SoftHsmToken.Pin,
        };
        string[] migrate = ["root", "migrate", "--to", "hsm", "--hsm-module", SoftHsmToken.Module, "--hsm-token", _hsm.Label, "--data", _dir, "--json"];
        using (await CoffreServeProcess.StartAsync(_dir))
        {
            var refused = Cli.Exec("dotnet", [Cli.CoffreDll, .. migrate], hsmEnvironment).Fails(ExitCodes.Conflict);
            Assert.Contains("in use", refused.Stderr, StringComparison.Ordinal);
        }

        var result = Cli.Exec("dotnet", [Cli.CoffreDll, .. migrate], hsmEnvironment).Json();
        Assert.Equal("hsm", result.GetProperty("to").GetString());
        Assert.True(result.GetProperty("keyVersions").GetProperty("rewrapped").GetInt32() >= 2); // the default key and "before"
        Assert.Equal("pkcs11", JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "root.seal"))).RootElement.GetProperty("protection").GetString());

        var serveEnvironment = new Dictionary<string, string>(_hsm.Environment) { ["COFFRE_HSM_PIN"] = SoftHsmToken.Pin, ["COFFRE_PASSPHRASE"] = "" };
        using (var after = await CoffreServeProcess.StartAsync(_dir, serveEnvironment))
        {
            Assert.Equal(body, await SignedRequests.S3Async(after, HttpMethod.Get, "/photos/before.bin", []));
            var plain = await SignedRequests.KmsAsync(after, "Decrypt", new { CiphertextBlob = ciphertext });
            Assert.Equal("kms secret"u8.ToArray(), Convert.FromBase64String(plain.GetProperty("Plaintext").GetString()!));
            var fresh = RandomNumberGenerator.GetBytes(70_000);
            await SignedRequests.S3Async(after, HttpMethod.Put, "/photos/after.bin", fresh);
            Assert.Equal(fresh, await SignedRequests.S3Async(after, HttpMethod.Get, "/photos/after.bin", []));
            var again = await SignedRequests.KmsAsync(after, "Encrypt", new { KeyId = keyId, Plaintext = Convert.ToBase64String("under the HSM"u8) });
            Assert.Equal("under the HSM"u8.ToArray(), Convert.FromBase64String((await SignedRequests.KmsAsync(after, "Decrypt",
                new { CiphertextBlob = again.GetProperty("CiphertextBlob").GetString() })).GetProperty("Plaintext").GetString()!));

            // Keys created and rotated under the HSM root: the new versions are wrapped in the HSM, and what the old
            // version encrypted still opens after the rotation.
            var created = (await SignedRequests.KmsAsync(after, "CreateKey", new { Description = "under the HSM" }))
                .GetProperty("KeyMetadata").GetProperty("KeyId").GetString()!;
            var first = (await SignedRequests.KmsAsync(after, "Encrypt", new { KeyId = created, Plaintext = Convert.ToBase64String("version 1"u8) }))
                .GetProperty("CiphertextBlob").GetString()!;
            await SignedRequests.KmsAsync(after, "RotateKeyOnDemand", new { KeyId = created });
            var second = (await SignedRequests.KmsAsync(after, "Encrypt", new { KeyId = created, Plaintext = Convert.ToBase64String("version 2"u8) }))
                .GetProperty("CiphertextBlob").GetString()!;
            Assert.NotEqual(first, second);
            foreach (var (blob, expected) in new[] { (first, "version 1"), (second, "version 2") })
                Assert.Equal(expected, System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(
                    (await SignedRequests.KmsAsync(after, "Decrypt", new { CiphertextBlob = blob })).GetProperty("Plaintext").GetString()!)));
        }

        var wrongPin = new Dictionary<string, string>(serveEnvironment) { ["COFFRE_HSM_PIN"] = "0000-wrong" };
        var failed = await Assert.ThrowsAsync<InvalidOperationException>(() => CoffreServeProcess.StartAsync(_dir, wrongPin));
        Assert.Contains("PIN", failed.Message, StringComparison.Ordinal);
        Assert.Contains(_hsm.Label, failed.Message, StringComparison.Ordinal);

    }

    [Fact]
    public async Task A_migration_killed_mid_way_resumes_and_every_ciphertext_made_before_decrypts_after()
    {
        var location = new DeploymentLocation(_dir);
        var blobs = new List<byte[]>();
        using (var deployment = await Deployment.InitializeAsync(location, Cli.Passphrase))
        {
            // Enough keys (one transaction each) that the migration is still running when it is killed.
            for (var i = 0; i < 300; i++)
            {
                deployment.Keys.CreateKey($"k{i:D3}", null, "test");
                if (i % 50 == 0) blobs.Add(deployment.Keys.Encrypt($"k{i:D3}", Encoding.UTF8.GetBytes($"secret {i}"), null, "test"));
            }
        }

        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in new[] { Cli.CoffreDll, "root", "migrate", "--to", "shamir", "--shares", "3", "--threshold", "2", "--data", _dir, "--json" })
            psi.ArgumentList.Add(a);
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("COFFRE", StringComparison.OrdinalIgnoreCase)).ToList()) psi.Environment.Remove(name);
        psi.Environment["COFFRE_PASSPHRASE"] = Cli.Passphrase;
        using var first = Process.Start(psi)!;
        first.StandardInput.Close();
        var handedOut = JsonDocument.Parse(await first.StandardOutput.ReadLineAsync() ?? "{}").RootElement;
        var shares = handedOut.GetProperty("shares").EnumerateArray().Select(s => s.GetString()!).ToList();
        while (await first.StandardError.ReadLineAsync() is { } line && !line.Contains("key versions:", StringComparison.Ordinal))
        {
        }
        first.Kill();
        await first.WaitForExitAsync();
        Assert.True(File.Exists(RootSealSwitch.NextPath(_dir)), "the migration finished before it could be killed: give it more keys");

        // Every other command refuses the half-migrated directory, and says what to do.
        var refused = Cli.Run(["key", "list", "--data", _dir]).Fails(ExitCodes.Conflict);
        Assert.Contains("coffre root migrate", refused.Stderr, StringComparison.Ordinal);

        var resumed = Cli.Run(["root", "migrate", "--to", "shamir", "--shares", "3", "--threshold", "2", "--data", _dir, "--json"],
            stdin: shares[1] + "\n" + shares[2] + "\n").Json();
        Assert.True(resumed.GetProperty("resumed").GetBoolean());
        Assert.True(resumed.GetProperty("keyVersions").GetProperty("already").GetInt32() > 0);
        Assert.Equal(300, resumed.GetProperty("keyVersions").GetProperty("already").GetInt32() + resumed.GetProperty("keyVersions").GetProperty("rewrapped").GetInt32());

        using var unsealer = new RootUnsealer(Path.Combine(_dir, Deployment.SealFileName), SealOptions.Default, TimeProvider.System);
        Assert.Null(unsealer.Submit(shares[0], out _));
        using var opened = Deployment.Open(location, unsealer.Submit(shares[2], out _)!);
        for (var i = 0; i < blobs.Count; i++)
            Assert.Equal($"secret {i * 50}", Encoding.UTF8.GetString(opened.Keys.Decrypt(blobs[i], null, "test").Plaintext));
        var records = opened.Audit.ReadChain().ToList();
        Assert.True(AuditChain.Verify(records).Ok);
        Assert.Contains(records, r => r.Operation == RootMigration.StartOperation && r.Context!.Contains("\"shamir\"", StringComparison.Ordinal));
        Assert.Contains(records, r => r.Operation == RootMigration.ResumeOperation);
        Assert.Contains(records, r => r.Operation == RootMigration.CommitOperation);
        Assert.Equal(300, records.Count(r => r.Operation == KeyManager.RootMigrationRewrapOperation));
    }
}
