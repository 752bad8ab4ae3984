using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Coffre.Cli.Tests;

public sealed class AuditTests
{
    private static readonly string Principal = "cli:" + Environment.UserName;

    [Fact]
    public void Audit_records_operations_filters_exports_verifies_and_names_a_tampered_record()
    {
        using var fx = new DataDirFixture();
        var dir = fx.NewDir();
        File.WriteAllText(Path.Combine(dir, "p"), "audited");
        fx.Run("key", "create", "payroll").Ok();
        fx.Run("key", "create", "other").Ok();
        fx.Run("encrypt", "--key", "payroll", Path.Combine(dir, "p"), Path.Combine(dir, "c")).Ok();
        fx.Run("decrypt", Path.Combine(dir, "c"), Path.Combine(dir, "back")).Ok();
        fx.Run("key", "disable", "payroll").Ok();
        fx.Run("encrypt", "--key", "payroll", Path.Combine(dir, "p"), Path.Combine(dir, "c2")).Fails(4);
        fx.Run("key", "enable", "payroll").Ok();

        var all = fx.Run("audit", "list", "--json").Json();
        Assert.Equal(JsonValueKind.Array, all.ValueKind);
        var records = all.EnumerateArray().ToList();
        var ops = records.Select(r => r.GetProperty("operation").GetString()).ToList();
        foreach (var op in new[] { "Initialize", "CreateKey", "GenerateDataKey", "UnwrapDataKey", "DisableKey", "EnableKey" })
            Assert.Contains(op, ops);
        var payroll = records.Where(r => r.TryGetProperty("keyName", out var n) && n.GetString() == "payroll").ToList();
        Assert.Contains(payroll, r => r.GetProperty("operation").GetString() == "CreateKey" && r.GetProperty("result").GetString() == "ok");
        var refused = Assert.Single(payroll, r => r.GetProperty("operation").GetString() == "GenerateDataKey" && r.GetProperty("result").GetString() != "ok");
        Assert.Equal("Disabled", refused.GetProperty("result").GetString());
        Assert.All(records.Where(r => r.GetProperty("operation").GetString() != "Initialize"),
            r => Assert.Equal(Principal, r.GetProperty("principal").GetString()));
        var sequences = records.Select(r => r.GetProperty("sequence").GetInt64()).ToList();
        Assert.Equal(sequences.Order(), sequences);

        // Filters.
        var byKey = fx.Run("audit", "list", "--json", "--key", "payroll").Json().EnumerateArray().ToList();
        Assert.NotEmpty(byKey);
        Assert.All(byKey, r => Assert.Equal("payroll", r.GetProperty("keyName").GetString()));
        Assert.Equal(payroll.Count, byKey.Count);
        var byOp = fx.Run("audit", "list", "--json", "--operation", "CreateKey").Json().EnumerateArray().ToList();
        Assert.Equal(2, byOp.Count);
        Assert.All(byOp, r => Assert.Equal("CreateKey", r.GetProperty("operation").GetString()));
        var limited = fx.Run("audit", "list", "--json", "--limit", "3").Json().EnumerateArray().ToList();
        Assert.Equal(3, limited.Count);
        Assert.Equal(1, limited[0].GetProperty("sequence").GetInt64());
        Assert.Empty(fx.Run("audit", "list", "--json", "--key", "no-such-key").Json().EnumerateArray());
        Assert.Contains("payroll", fx.Run("audit", "list", "--key", "payroll").Ok().Stdout);

        // Export: one JSON object per line.
        var export = fx.Run("audit", "export").Ok();
        var lines = export.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length >= records.Count);
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
            Assert.Equal(64, doc.RootElement.GetProperty("hash").GetString()!.Length);
        }
        var exportedByKey = fx.Run("audit", "export", "--key", "payroll", "--operation", "GenerateDataKey").Ok()
            .Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, exportedByKey.Length);

        // Verify.
        var ok = fx.Run("audit", "verify").Ok();
        Assert.Contains("intact", ok.Stdout);
        var okJson = fx.Run("audit", "verify", "--json").Json();
        Assert.True(okJson.GetProperty("ok").GetBoolean());

        // Tamper one record's result field in keys.db.
        var target = refused.GetProperty("sequence").GetInt64();
        using (var db = new SqliteConnection($"Data Source={Path.Combine(fx.Data, "keys.db")};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "UPDATE audit SET result = 'ok' WHERE seq = $seq";
            cmd.Parameters.AddWithValue("$seq", target);
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }
        var broken = fx.Run("audit", "verify");
        Assert.Equal(6, broken.ExitCode);
        Assert.Contains($"#{target}", broken.Stderr);
        Assert.Equal("", broken.Stdout);
        var brokenJson = fx.Run("audit", "verify", "--json");
        Assert.Equal(6, brokenJson.ExitCode);
        using (var doc = JsonDocument.Parse(brokenJson.Stdout))
        {
            Assert.False(doc.RootElement.GetProperty("ok").GetBoolean());
            Assert.Equal(target, doc.RootElement.GetProperty("firstBadSequence").GetInt64());
        }
    }

    [Fact]
    public void The_independent_python_verifier_accepts_a_cli_data_directory()
    {
        const string python = "/usr/bin/python3";
        if (!File.Exists(python)) return; // scripts/test.sh installs it; nothing to check without it
        using var fx = new DataDirFixture();
        fx.Run("key", "create", "py").Ok();
        fx.Run("key", "rotate", "py").Ok();
        fx.Run("key", "list", "--json").Ok();
        var dir = fx.NewDir();
        File.WriteAllText(Path.Combine(dir, "p"), "x");
        fx.Run("encrypt", "--key", "py", Path.Combine(dir, "p"), Path.Combine(dir, "c")).Ok();
        fx.Run("audit", "verify").Ok();

        var r = Cli.Exec(python, [Path.Combine(Cli.RepositoryRoot, "tools", "verify_kms.py"), fx.Data, Cli.Passphrase]);
        Assert.True(r.ExitCode == 0, $"verify_kms.py: {r.All}");
        using var doc = JsonDocument.Parse(r.Stdout);
        var keys = fx.Run("key", "show", "py", "--json").Json();
        var id = keys.GetProperty("id").GetString();
        var versions = doc.RootElement.GetProperty("versions").EnumerateObject().Select(v => v.Name).ToList();
        Assert.Contains($"{id}/1", versions);
        Assert.Contains($"{id}/2", versions);
        Assert.True(doc.RootElement.GetProperty("audit").GetInt32() >= 6);
    }
}
