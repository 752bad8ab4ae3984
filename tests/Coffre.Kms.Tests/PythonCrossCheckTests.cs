using System.Diagnostics;
using System.Text.Json;
using static Coffre.Kms.Tests.TestEnvironment;

namespace Coffre.Kms.Tests;

/// <summary>tools/verify_kms.py re-implements docs/format.md §6 and §8 in Python; this runs it on a
/// real data directory. Debian's python3 with `cryptography` is a requirement of the test command (scripts/test.sh
/// installs it): without it the test fails, it does not pass unchecked.</summary>
public class PythonCrossCheckTests
{
    private static string Script()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "tools", "verify_kms.py"))) dir = dir.Parent;
        Assert.True(dir is not null, "tools/verify_kms.py not found above the test directory");
        return Path.Combine(dir.FullName, "tools", "verify_kms.py");
    }

    private static (int Code, string Out, string Err) Run(string script, string dataDir)
    {
        Assert.True(File.Exists("/usr/bin/python3"), "Debian's python3 is required (scripts/test.sh installs it)");
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(dataDir);
        psi.ArgumentList.Add(Passphrase);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.False(stderr.Contains("No module named 'cryptography'"), "python3-cryptography is required (scripts/test.sh installs it)");
        return (p.ExitCode, stdout, stderr);
    }

    [Fact]
    public void Python_unseals_unwraps_and_verifies_from_the_spec()
    {
        var script = Script();
        using var env = new TestEnvironment();
        var m = env.Initialize();
        var key = m.CreateKey("k", null, Alice);
        m.RotateKey("k", Alice);
        m.GenerateDataKey("k", Ctx(("bucket", "b"), ("key", "é/ü")), Alice).Dispose();
        Assert.Throws<KmsException>(() => m.DescribeKey("missing", Alice));
        var result = Run(script, env.Directory);
        Assert.True(result.Code == 0, result.Err);
        using var doc = JsonDocument.Parse(result.Out);
        Assert.Equal(m.DeploymentId, doc.RootElement.GetProperty("deployment_id").GetString());
        var versions = doc.RootElement.GetProperty("versions");
        Assert.Equal(Convert.ToHexString(m.KeyMaterialForTests("k", 1)), versions.GetProperty($"{key.Id}/1").GetString(), ignoreCase: true);
        Assert.Equal(Convert.ToHexString(m.KeyMaterialForTests("k", 2)), versions.GetProperty($"{key.Id}/2").GetString(), ignoreCase: true);
        Assert.True(doc.RootElement.GetProperty("audit").GetInt32() >= 5);

        env.Sql("UPDATE audit SET principal = 'mallory' WHERE seq = 3");
        var tampered = Run(script, env.Directory);
        Assert.Equal(1, tampered.Code);
        Assert.Contains("record 3", tampered.Err);
    }
}
