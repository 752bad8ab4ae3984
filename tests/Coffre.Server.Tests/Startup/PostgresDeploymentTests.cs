using Coffre.Kms;
using Coffre.Kms.Keys;
using Coffre.Server.Hosting;
using Coffre.TestSupport;

namespace Coffre.Server.Tests.Startup;

/// <summary>The composition root on PostgreSQL: root.seal in each data directory, keys and audit trail in the shared database.</summary>
public sealed class PostgresDeploymentTests : IDisposable
{
    private const string Passphrase = "postgres deployment tests";
    private readonly string _a = Directory.CreateTempSubdirectory("coffre-pg-a-").FullName;
    private readonly string _b = Directory.CreateTempSubdirectory("coffre-pg-b-").FullName;

    [Fact]
    public async Task Two_data_directories_with_one_root_seal_share_the_keys_and_one_audit_chain()
    {
        var database = await PostgresServer.CreateSharedDatabaseAsync();
        using (var first = await Deployment.InitializeAsync(new DeploymentLocation(_a, database), Passphrase, KmsOptions.InsecureForTests))
            first.Keys.CreateKey("shared", null, KeyManager.SystemPrincipal);
        Assert.False(File.Exists(Path.Combine(_a, "keys.db"))); // nothing of the key store on local disk
        File.Copy(Path.Combine(_a, Deployment.SealFileName), Path.Combine(_b, Deployment.SealFileName));

        using var a = Deployment.Open(new DeploymentLocation(_a, database), Passphrase, KmsOptions.InsecureForTests);
        using var b = Deployment.Open(new DeploymentLocation(_b, database), Passphrase, KmsOptions.InsecureForTests);
        var blob = await a.Keys.EncryptAsync("shared", new byte[] { 7 }, null, "instance-a");
        Assert.Equal([7], (await b.Keys.DecryptAsync(blob, null, "instance-b")).Plaintext);
        Assert.True(b.Keys.VerifyAudit("auditor").Ok);
        Assert.Equal(["instance-a", "instance-b"], a.Keys.ReadAudit(new() { Operation = "Encrypt" }, "auditor")
            .Concat(a.Keys.ReadAudit(new() { Operation = "Decrypt" }, "auditor")).Select(r => r.Principal));

        // Another deployment (another root.seal) cannot claim or open the same database.
        var other = Directory.CreateTempSubdirectory("coffre-pg-c-").FullName;
        var e = await Assert.ThrowsAsync<KmsException>(() => Deployment.InitializeAsync(new DeploymentLocation(other, database), Passphrase, KmsOptions.InsecureForTests));
        Assert.Equal(KmsError.AlreadyInitialized, e.Error);
        Assert.DoesNotContain("Password", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.False(Deployment.IsInitialized(other)); // the seal written first is taken back
        Directory.Delete(other, recursive: true);
    }

    public void Dispose()
    {
        foreach (var d in new[] { _a, _b })
            try { Directory.Delete(d, recursive: true); } catch (IOException) { }
    }
}
