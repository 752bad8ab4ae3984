using System.Text;
using Coffre.Kms;
using Coffre.Kms.Root;

namespace Coffre.Fuzz.Targets;

/// <summary>
/// The sealed root file (root.seal), read at every start: the input is the file, unsealed with the fixed passphrase.
/// Every rejection is a <see cref="KmsException"/> (malformed seal or wrong passphrase). Weak KDF settings are
/// allowed so that the seeds unseal in a millisecond; the iteration count itself stays under the fuzzer's control.
/// </summary>
public sealed class SealedRootTarget : FuzzTarget
{
    private const string Passphrase = "correct horse battery staple";
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"coffre-fuzz-{Environment.ProcessId}-{Guid.NewGuid():N}.seal");

    public override string Name => "sealed-root";

    public override void Run(ReadOnlySpan<byte> input)
    {
        File.WriteAllBytes(_path, input.ToArray());
        try
        {
            using var root = SealedFileRoot.Unseal(_path, Passphrase, SealOptions.InsecureForTests);
        }
        catch (KmsException e) when (e.Error is KmsError.InvalidArgument or KmsError.WrongPassphrase)
        {
        }
        finally
        {
            File.Delete(_path);
        }
    }

    public override IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        File.Delete(_path);
        using (SealedFileRoot.Initialize(_path, Passphrase, SealOptions.InsecureForTests, deploymentId: "0f6c1a52-7d1e-4a53-9d61-2c4f0d3b8e11")) { }
        var seal = File.ReadAllBytes(_path);
        File.Delete(_path);
        yield return ("seal", seal);
        yield return ("not-json", Encoding.UTF8.GetBytes("coffre-root-seal"));
    }
}
