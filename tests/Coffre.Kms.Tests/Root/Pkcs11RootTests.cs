using System.Diagnostics;
using Coffre.Kms.Keys;
using Coffre.Kms.Root;

namespace Coffre.Kms.Tests.Root;

/// <summary>
/// A root key in a real SoftHSM2 token (Debian softhsm2; .ci/install-test-deps.sh installs it), initialised here in a
/// temporary directory through SOFTHSM2_CONF. One class, so its tests never load the module concurrently.
/// </summary>
public sealed class Pkcs11RootTests : IDisposable
{
    public const string Module = "/usr/lib/softhsm/libsofthsm2.so";
    private const string Pin = "1234-test-pin";
    private readonly string _tokens = Directory.CreateTempSubdirectory("coffre-softhsm-").FullName;
    private readonly string _token = "coffre-" + Guid.NewGuid().ToString("N")[..8];

    public Pkcs11RootTests()
    {
        Assert.True(File.Exists(Module), $"{Module} is missing: install Debian's softhsm2 (.ci/install-test-deps.sh does)");
        var conf = Path.Combine(_tokens, "softhsm2.conf");
        File.WriteAllText(conf, $"directories.tokendir = {_tokens}\nobjectstore.backend = file\nlog.level = ERROR\n");
        // SoftHSM reads SOFTHSM2_CONF with getenv(3): .NET's Environment.SetEnvironmentVariable does not reach it.
        Assert.Equal(0, setenv("SOFTHSM2_CONF", conf, 1));
        var psi = new ProcessStartInfo("softhsm2-util") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--init-token", "--free", "--label", _token, "--pin", Pin, "--so-pin", "5678-test-so" }) psi.ArgumentList.Add(a);
        psi.Environment["SOFTHSM2_CONF"] = conf;
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, "softhsm2-util --init-token: " + output);
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int setenv(string name, string value, int overwrite);

    public void Dispose()
    {
        try { Directory.Delete(_tokens, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task Keys_live_under_a_root_key_the_HSM_never_exports_and_a_wrong_PIN_is_a_clear_error()
    {
        using var env = new TestEnvironment();
        byte[] blob;
        WrappedDataKey wrapped;
        byte[] dataKey;
        using (var deployment = await Coffre.Server.Hosting.Deployment.InitializeHsmAsync(env.Location, Module, _token, "coffre-root", Pin, env.Options, env.Clock))
        {
            var keys = deployment.Keys;
            keys.CreateKey("k", null, TestEnvironment.Alice);
            blob = keys.Encrypt("k", "under the HSM"u8, null, TestEnvironment.Alice);
            keys.RotateKey("k", TestEnvironment.Alice);
            using var dk = keys.GenerateDataKey("k", null, TestEnvironment.Alice);
            (wrapped, dataKey) = (dk.Wrapped, dk.Plaintext.ToArray());
            Assert.Equal(2, wrapped.KeyVersion);
        }
        Assert.Contains("\"pkcs11\"", File.ReadAllText(env.SealPath));
        Assert.DoesNotContain(Pin, File.ReadAllText(env.SealPath));

        using var unsealer = new RootUnsealer(env.SealPath, env.Options.Seal, env.Clock);
        var wrong = Assert.Throws<KmsException>(() => unsealer.Submit("0000-wrong", out _));
        Assert.Equal(KmsError.WrongPassphrase, wrong.Error);
        Assert.Contains("PIN", wrong.Message, StringComparison.Ordinal);
        Assert.Contains(_token, wrong.Message, StringComparison.Ordinal);

        var root = (Pkcs11Root)unsealer.Submit(Pin, out var progress)!;
        Assert.Equal(RootKind.Pkcs11, progress.Kind);
        Assert.True(root.RefusesToExport());
        var opened = env.Open(root);
        Assert.Equal("under the HSM"u8.ToArray(), opened.Decrypt(blob, null, TestEnvironment.Alice).Plaintext);
        Assert.Equal(dataKey, opened.UnwrapDataKey(wrapped, null, TestEnvironment.Alice));

        // Sealed: the HSM session is closed and key versions are gone; unsealed again with the PIN.
        Assert.True(await opened.SealAsync(TestEnvironment.Alice));
        Assert.Equal(KmsError.Sealed, Assert.Throws<KmsException>(() => opened.Decrypt(blob, null, TestEnvironment.Alice)).Error);
        Assert.True(await opened.UnsealAsync(unsealer.Submit(Pin, out _)!, "officer", "pkcs11"));
        Assert.Equal("under the HSM"u8.ToArray(), opened.Decrypt(blob, null, TestEnvironment.Alice).Plaintext);
    }
}
