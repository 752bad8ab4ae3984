using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Coffre.TestSupport;

/// <summary>
/// A real SoftHSM2 token (Debian softhsm2; .ci/install-test-deps.sh installs it) initialised in a temporary directory,
/// reached through SOFTHSM2_CONF: set in this process with <see cref="UseInThisProcess"/>, or passed to a child process
/// (<see cref="Environment"/>). Test classes that load the module in-process share the "softhsm" collection, so they
/// never do it concurrently.
/// </summary>
public sealed class SoftHsmToken : IDisposable
{
    public const string Module = "/usr/lib/softhsm/libsofthsm2.so";
    public const string Pin = "1234-test-pin";

    private readonly string _directory = Directory.CreateTempSubdirectory("coffre-softhsm-").FullName;

    public SoftHsmToken()
    {
        if (!File.Exists(Module)) throw new InvalidOperationException($"{Module} is missing: install Debian's softhsm2 (.ci/install-test-deps.sh does)");
        Conf = Path.Combine(_directory, "softhsm2.conf");
        File.WriteAllText(Conf, $"directories.tokendir = {_directory}\nobjectstore.backend = file\nlog.level = ERROR\n");
        var psi = new ProcessStartInfo("softhsm2-util") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--init-token", "--free", "--label", Label, "--pin", Pin, "--so-pin", "5678-test-so" }) psi.ArgumentList.Add(a);
        psi.Environment["SOFTHSM2_CONF"] = Conf;
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("softhsm2-util --init-token: " + output);
    }

    public string Label { get; } = "coffre-" + Guid.NewGuid().ToString("N")[..8];

    public string Conf { get; }

    /// <summary>What a child process needs to see the token.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string> { ["SOFTHSM2_CONF"] = Conf };

    /// <summary>Points this process's SoftHSM at the token. SoftHSM reads SOFTHSM2_CONF with getenv(3):
    /// .NET's Environment.SetEnvironmentVariable does not reach it.</summary>
    public SoftHsmToken UseInThisProcess()
    {
        if (setenv("SOFTHSM2_CONF", Conf, 1) != 0) throw new InvalidOperationException("setenv(SOFTHSM2_CONF) failed");
        return this;
    }

#pragma warning disable SYSLIB1054 // one blittable call in a test helper
    [DllImport("libc", SetLastError = true)]
    private static extern int setenv(string name, string value, int overwrite);
#pragma warning restore SYSLIB1054

    public void Dispose()
    {
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
