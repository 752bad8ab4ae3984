using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Coffre.Kms.Keys;
using Coffre.Objects;
using Microsoft.Data.Sqlite;
using Coffre.Server.Hosting;

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
        Assert.True(File.Exists(python), $"{python} is missing: install python3 and python3-cryptography (scripts/test.sh does)");
        using var fx = new DataDirFixture();
        fx.Run("key", "create", "py").Ok();
        fx.Run("key", "rotate", "py").Ok();
        fx.Run("key", "list", "--json").Ok();
        var dir = fx.NewDir();
        File.WriteAllText(Path.Combine(dir, "p"), "x");
        fx.Run("encrypt", "--key", "py", Path.Combine(dir, "p"), Path.Combine(dir, "c")).Ok();
        fx.Run("audit", "checkpoint").Ok();
        fx.Run("audit", "checkpoint").Ok(); // a chain of two
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
        Assert.Equal(2, doc.RootElement.GetProperty("checkpoints").GetInt32());

        // The script also sees a checkpoint removed from the middle of the chain.
        fx.Run("audit", "checkpoint").Ok();
        using (var db = new SqliteConnection($"Data Source={Path.Combine(fx.Data, "keys.db")};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "DELETE FROM audit_checkpoint_chain WHERE number = 2";
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }
        var gap = Cli.Exec(python, [Path.Combine(Cli.RepositoryRoot, "tools", "verify_kms.py"), fx.Data, Cli.Passphrase]);
        Assert.Equal(1, gap.ExitCode);
        Assert.Contains("#3 does not follow", gap.Stderr);
    }

    [Fact]
    public void Gateway_records_filter_by_bucket_and_object_and_exports_resume_after_a_sequence_number()
    {
        using var fx = new DataDirFixture();
        fx.Run("key", "create", "media").Ok();
        using (var deployment = Deployment.Open(new DeploymentLocation(fx.Data), Cli.Passphrase))
        {
            var keys = deployment.Keys;
            // What the gateway records for a PUT and a GET: data-key uses bound to bucket and object name.
            foreach (var (bucket, name) in new[] { ("photos", "a.jpg"), ("photos", "b.jpg"), ("scans", "a.jpg") })
            {
                using var dk = keys.GenerateDataKey("media", ObjectBinding.WrapContext(bucket, name), "s3:alice");
                CryptographicZero(keys.UnwrapDataKey(dk.Wrapped, ObjectBinding.WrapContext(bucket, name), "s3:bob"));
            }
        }

        var photos = fx.Run("audit", "list", "--json", "--bucket", "photos").Json().EnumerateArray().ToList();
        Assert.Equal(4, photos.Count);
        Assert.All(photos, r => Assert.Contains("\"coffre:bucket\":\"photos\"", r.GetProperty("context").GetString()));
        var one = fx.Run("audit", "list", "--json", "--bucket", "photos", "--object", "a.jpg").Json().EnumerateArray().ToList();
        Assert.Equal(new[] { "GenerateDataKey", "UnwrapDataKey" }, one.Select(r => r.GetProperty("operation").GetString()).ToArray());
        Assert.Equal(new[] { "s3:alice", "s3:bob" }, one.Select(r => r.GetProperty("principal").GetString()).ToArray());
        Assert.Equal(4, fx.Run("audit", "list", "--json", "--object", "a.jpg").Json().GetArrayLength()); // a.jpg in both buckets, PUT and GET
        Assert.Equal(0, fx.Run("audit", "list", "--json", "--bucket", "nothing").Json().GetArrayLength());
        Assert.Contains("scans", fx.Run("audit", "list", "--bucket", "scans").Ok().Stdout); // the table's Object column

        // Export has no default limit, and --after resumes an export: nothing lost, nothing twice.
        var everything = Lines(fx.Run("audit", "export").Ok().Stdout);
        Assert.True(everything.Count > 10);
        var firstPart = Lines(fx.Run("audit", "export", "--limit", "5").Ok().Stdout);
        Assert.Equal(5, firstPart.Count);
        var last = firstPart[^1].GetProperty("sequence").GetInt64();
        var rest = Lines(fx.Run("audit", "export", "--after", last.ToString(System.Globalization.CultureInfo.InvariantCulture)).Ok().Stdout);
        var sequences = firstPart.Concat(rest).Select(r => r.GetProperty("sequence").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(1, sequences.Count).Select(i => (long)i), sequences);
        Assert.True(sequences.Count > everything.Count); // the exports in between were recorded too

        // tail: the newest records, oldest of them first.
        var tail = Lines(fx.Run("audit", "tail", "-n", "3", "--json").Ok().Stdout);
        Assert.Equal(3, tail.Count);
        var newest = tail.Select(r => r.GetProperty("sequence").GetInt64()).ToList();
        Assert.Equal(newest.Order(), newest);
        Assert.Equal("ReadAudit", tail[^1].GetProperty("operation").GetString()); // tail's own read, recorded before it reads
        var photosTail = fx.Run("audit", "tail", "--bucket", "photos", "-n", "1").Ok().Stdout;
        Assert.Contains("photos/b.jpg", photosTail);
        Assert.Contains("UnwrapDataKey", photosTail);
    }

    [Fact]
    public async Task Tail_follow_prints_records_written_by_other_processes_until_interrupted()
    {
        using var fx = new DataDirFixture();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, StandardOutputEncoding = Encoding.UTF8 };
        foreach (var a in new[] { Cli.CoffreDll, "audit", "tail", "--follow", "--json", "--operation", "CreateKey", "--data", fx.Data }) psi.ArgumentList.Add(a);
        psi.Environment["COFFRE_PASSPHRASE"] = Cli.Passphrase;
        using var tail = Process.Start(psi)!;
        var seen = new List<string>();
        var reader = Task.Run(async () =>
        {
            while (await tail.StandardOutput.ReadLineAsync() is { } line)
                lock (seen) seen.Add(line);
        });
        try
        {
            fx.Run("key", "create", "first").Ok();
            fx.Run("key", "rotate", "first").Ok();
            fx.Run("key", "create", "second").Ok();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (DateTime.UtcNow < deadline)
            {
                lock (seen) if (seen.Count >= 2) break;
                await Task.Delay(100);
            }
            List<string> lines;
            lock (seen) lines = [.. seen];
            var names = lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("keyName").GetString()).ToList();
            Assert.Equal(new[] { "first", "second" }, names.ToArray()); // the rotation did not match the filter
            Assert.False(tail.HasExited);
        }
        finally
        {
            // Ctrl-C: the action is cancelled and tail ends with the shell's usual 130 (128 + SIGINT), without a trace.
            Process.Start("kill", ["-INT", tail.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]).WaitForExit();
            if (!tail.WaitForExit(TimeSpan.FromSeconds(20))) tail.Kill(entireProcessTree: true);
        }
        await reader;
        var stderr = await tail.StandardError.ReadToEndAsync();
        Assert.Equal(ExitCodes.Interrupted, tail.ExitCode);
        Assert.DoesNotContain("Exception", stderr);
    }

    private static List<JsonElement> Lines(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    private static void CryptographicZero(byte[] key) => System.Security.Cryptography.CryptographicOperations.ZeroMemory(key);
}
