using Coffre.Kms.Keys;
using Coffre.Kms.Root;
using Coffre.TestSupport;

namespace Coffre.Kms.Tests.Root;

/// <summary>A root key in a real SoftHSM2 token (<see cref="SoftHsmToken"/>).</summary>
[Collection("softhsm")]
public sealed class Pkcs11RootTests : IDisposable
{
    public const string Module = SoftHsmToken.Module;
    private const string Pin = SoftHsmToken.Pin;
    private readonly SoftHsmToken _hsm = new SoftHsmToken().UseInThisProcess();

    private string _token => _hsm.Label;

    public void Dispose() => _hsm.Dispose();

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
