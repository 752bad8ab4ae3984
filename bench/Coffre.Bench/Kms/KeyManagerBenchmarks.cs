using BenchmarkDotNet.Attributes;
using Coffre.Kms.Keys;
using Coffre.Server.Hosting;

namespace Coffre.Bench.Kms;

/// <summary>
/// Data-key throughput of the key manager with auditing (group commit, SQLite WAL,
/// synchronous=FULL) on a real keys.db in a temp directory. Each invocation runs
/// <see cref="OperationsPerInvoke"/> operations spread over <see cref="Callers"/> threads, so
/// the reported mean is the time per operation and 1/mean the throughput.
/// </summary>
[MemoryDiagnoser]
public class KeyManagerBenchmarks
{
    private const int OperationsPerInvoke = 2048;
    private static readonly IReadOnlyDictionary<string, string> Context =
        new Dictionary<string, string> { ["bucket"] = "bench", ["key"] = "objects/0001" };

    private string _directory = "";
    private Deployment _deployment = null!;
    private KeyManager _manager = null!;
    private WrappedDataKey _wrapped = null!;

    [Params(1, 8)]
    public int Callers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "coffre-bench-kms", Guid.NewGuid().ToString("N"));
        _deployment = Deployment.InitializeAsync(new DeploymentLocation(_directory), "benchmark passphrase", KmsOptions.InsecureForTests).GetAwaiter().GetResult();
        _manager = _deployment.Keys;
        _manager.CreateKey("bench", null, "bench");
        using var dk = _manager.GenerateDataKey("bench", Context, "bench");
        _wrapped = dk.Wrapped;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _deployment.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }

    [Benchmark(OperationsPerInvoke = OperationsPerInvoke)]
    public void GenerateDataKey() => Run(() => _manager.GenerateDataKey("bench", Context, "bench").Dispose());

    [Benchmark(OperationsPerInvoke = OperationsPerInvoke)]
    public void UnwrapDataKey() => Run(() => _manager.UnwrapDataKey(_wrapped, Context, "bench"));

    private void Run(Action operation)
    {
        if (Callers == 1)
        {
            for (var i = 0; i < OperationsPerInvoke; i++) operation();
            return;
        }
        var per = OperationsPerInvoke / Callers;
        var threads = new Thread[Callers];
        for (var t = 0; t < Callers; t++)
        {
            threads[t] = new Thread(() =>
            {
                for (var i = 0; i < per; i++) operation();
            });
            threads[t].Start();
        }
        foreach (var thread in threads) thread.Join();
    }
}
