using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Coffre.Kms.Keys;
using Coffre.Kms.Root;

namespace Coffre.Bench.Kms;

/// <summary>
/// Unseal time per root kind, with the production parameters: a passphrase seal with Argon2id (the default for new
/// seals) and with PBKDF2-SHA256 (600,000 iterations, older seals), and a 3-of-5 Shamir seal (three shares checked
/// against their digests, recombined, the root key opened). One unseal per invocation; the figure is what an operator
/// waits for at `serve` or per CLI command (docs/benchmarks.md).
/// </summary>
[SimpleJob(RunStrategy.Monitoring, warmupCount: 1, iterationCount: 5)]
public class RootUnsealBenchmarks
{
    private const string Passphrase = "benchmark passphrase, long enough";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "coffre-bench-root", Guid.NewGuid().ToString("N"));
    private string _argon2 = "", _pbkdf2 = "", _shamir = "";
    private IReadOnlyList<string> _shares = [];

    [GlobalSetup]
    public void Setup()
    {
        Directory.CreateDirectory(_directory);
        _argon2 = Path.Combine(_directory, "argon2.seal");
        _pbkdf2 = Path.Combine(_directory, "pbkdf2.seal");
        _shamir = Path.Combine(_directory, "shamir.seal");
        SealedFileRoot.Initialize(_argon2, Passphrase).Dispose();
        SealedFileRoot.Initialize(_pbkdf2, Passphrase, new SealOptions { Kdf = RootSealFile.Pbkdf2 }).Dispose();
        var (root, shares) = SealedFileRoot.InitializeShamir(_shamir, 5, 3);
        root.Dispose();
        _shares = shares;
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_directory, recursive: true);

    [Benchmark]
    public void PassphraseArgon2id() => SealedFileRoot.Unseal(_argon2, Passphrase).Dispose();

    [Benchmark]
    public void PassphrasePbkdf2() => SealedFileRoot.Unseal(_pbkdf2, Passphrase).Dispose();

    [Benchmark]
    public void Shamir3of5()
    {
        using var unsealer = new RootUnsealer(_shamir, SealOptions.Default, TimeProvider.System);
        IRootOfTrust? root = null;
        foreach (var share in _shares.Take(3)) root = unsealer.Submit(share, out _);
        root!.Dispose();
    }
}
