using System.Security.Cryptography;
using System.Text.Json;
using Coffre.Kms.Audit;
using Coffre.Sqlite.Kms;
using Microsoft.Data.Sqlite;

namespace Coffre.Cli.Tests;

/// <summary>
/// `coffre audit verify` against an attacker who can write the data directory: the checks inside keys.db cannot see
/// records cut off together with their checkpoints, or a signing key replaced; the copies published outside can.
/// </summary>
public sealed class AuditCheckpointCliTests
{
    /// <summary>A data directory whose configuration publishes checkpoints to a file outside it (as for a SIEM).</summary>
    private static (DataDirFixture Fx, string File) WithCheckpointFile()
    {
        var fx = new DataDirFixture();
        var file = Path.Combine(fx.Root, "siem", "coffre-checkpoints.jsonl");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        System.IO.File.WriteAllText(Path.Combine(fx.Data, "appsettings.json"),
            JsonSerializer.Serialize(new { Coffre = new { Audit = new { CheckpointFile = file } } }));
        return (fx, file);
    }

    private static string KeysDb(DataDirFixture fx) => Path.Combine(fx.Data, "keys.db");

    private static string DeploymentIdOf(DataDirFixture fx)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = KeysDb(fx), Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT value FROM meta WHERE name = 'deployment_id'";
        return (string)cmd.ExecuteScalar()!;
    }

    [Fact]
    public void Verify_reports_records_and_checkpoints_cut_from_keys_db_from_the_published_copies()
    {
        var (fx, file) = WithCheckpointFile();
        using var _ = fx;
        fx.Run("key", "create", "payroll").Ok();
        var first = fx.Run("audit", "checkpoint", "--json").Json();
        var dir = fx.NewDir();
        System.IO.File.WriteAllText(Path.Combine(dir, "p"), "salaries");
        for (var i = 0; i < 3; i++) fx.Run("encrypt", "--key", "payroll", Path.Combine(dir, "p"), Path.Combine(dir, $"c{i}")).Ok(); // the extraction
        var second = fx.Run("audit", "checkpoint", "--json").Json();
        Assert.Equal(2, System.IO.File.ReadAllLines(file).Length);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(fx.Data, "objects"), "*", SearchOption.AllDirectories)); // the backend's copies
        var intact = fx.Run("audit", "verify", "--stale-after", "1h").Ok().Stdout;
        Assert.Contains("intact", intact);
        Assert.Contains($"Newest checkpoint published to file {file}: #2", intact);

        // The attack: delete the newest records and every checkpoint after them in keys.db.
        var kept = first.GetProperty("sequence").GetInt64();
        Sql(fx, $"DELETE FROM audit WHERE seq > {kept}; DELETE FROM audit_checkpoint_chain WHERE number > 1");

        var broken = fx.Run("audit", "verify", "--stale-after", "1h").Fails(6);
        var covered = second.GetProperty("sequence").GetInt64();
        Assert.Contains($"(records-removed): The newest checkpoint published to file {file} (checkpoint #2) covers record #{covered}", broken.Stderr);
        Assert.Contains($"..#{covered} were removed", broken.Stderr);
        Assert.Contains("(checkpoints-removed)", broken.Stderr);
        Assert.Contains("backend local disk", broken.Stderr); // the backend's copy says the same

        var json = fx.Run("audit", "verify", "--stale-after", "1h", "--json");
        Assert.Equal(6, json.ExitCode);
        using var doc = JsonDocument.Parse(json.Stdout);
        Assert.False(doc.RootElement.GetProperty("ok").GetBoolean());
        var codes = doc.RootElement.GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("code").GetString()).ToList();
        Assert.Equal(2, codes.Count(c => c == "records-removed"));
        Assert.Equal(2, codes.Count(c => c == "checkpoints-removed"));
        Assert.All(doc.RootElement.GetProperty("published").EnumerateArray(), p => Assert.Equal(2, p.GetProperty("number").GetInt64()));
    }

    [Fact]
    public void Verify_reports_a_signing_key_replaced_in_keys_db_against_the_pinned_key_and_the_published_copies()
    {
        var (fx, file) = WithCheckpointFile();
        using var _ = fx;
        fx.Run("key", "create", "payroll").Ok();
        var checkpoint = fx.Run("audit", "checkpoint", "--json").Json();
        var pem = Path.Combine(fx.Root, "checkpoint-key.pem");
        System.IO.File.WriteAllText(pem, checkpoint.GetProperty("publicKeyPem").GetString());
        var fingerprint = checkpoint.GetProperty("fingerprint").GetString()!;
        fx.Run("audit", "verify", "--stale-after", "1h", "--public-key", pem).Ok();

        // The attacker, without the root, puts a key of their own in keys.db, re-signs the chain with it, and removes
        // the backend's copies (they are inside the data directory): keys.db alone is consistent again.
        using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Sql(fx, $"UPDATE audit_signing_key SET public_key = X'{Convert.ToHexString(attacker.ExportSubjectPublicKeyInfo())}'");
        List<AuditCheckpoint> checkpoints;
        using (var database = SqliteKeyDatabase.Open(KeysDb(fx), DeploymentIdOf(fx)))
            checkpoints = [.. database.Audit.Checkpoints.List()];
        foreach (var c in checkpoints)
            Sql(fx, $"UPDATE audit_checkpoint_chain SET signature = X'{Convert.ToHexString(attacker.SignData(c.SignedBytes(), HashAlgorithmName.SHA256))}' WHERE number = {c.Number}");
        Directory.Delete(Path.Combine(fx.Data, "objects"), recursive: true);

        var pinned = fx.Run("audit", "verify", "--stale-after", "1h", "--fingerprint", fingerprint).Fails(6);
        Assert.Contains($"(signing-key-replaced): The checkpoint signing key in keys.db (SHA-256 {AuditCheckpoint.Fingerprint(attacker.ExportSubjectPublicKeyInfo())})", pinned.Stderr);
        Assert.Contains("(published-missing): backend local disk", pinned.Stderr); // the deleted copies are missed too
        var unpinned = fx.Run("audit", "verify", "--stale-after", "1h").Fails(6);
        Assert.Contains($"(published-key-mismatch): checkpoint #1 published to file {file} is signed with key {fingerprint}, not with the keys.db key", unpinned.Stderr);

        fx.Run("audit", "verify", "--public-key", pem, "--fingerprint", new string('0', 64)).Fails(1);
        fx.Run("audit", "verify", "--fingerprint", "not-hex").Fails(1);
    }

    private static void Sql(DataDirFixture fx, string sql)
    {
        using var db = new SqliteConnection($"Data Source={KeysDb(fx)};Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
