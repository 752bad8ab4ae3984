using System.Diagnostics;
using Coffre.Storage.Placement;
using Coffre.TestSupport;

namespace Coffre.Storage.Tests.Placement;

/// <summary>Erasure-coded placement stores over real backends, and the independent zfec decoder run on their shares.</summary>
public static class ErasureStores
{
    public const string Bucket = "coded";

    /// <summary>A store coding bucket <see cref="Bucket"/> K-of-N over the given backends (share i on the i-th), each of its own operator.</summary>
    public static PlacementBlobStore Create(int k, int? writeQuorum, params (string Name, IBlobStore Store)[] backends)
    {
        var facts = backends.Select((b, i) => BackendFacts.Resolve(b.Name, null,
            new FactsOptions { Country = "FR", Operator = "Operator " + i, Jurisdiction = "FR" }, PlacementTestCatalog.Shipped));
        var planner = new PlacementPlanner(facts.ToDictionary(f => f.Backend, StringComparer.Ordinal));
        var policy = new PlacementPolicy
        {
            Backends = backends.Select(b => b.Name).ToList(), DistinctBy = ["Operator"],
            Erasure = new ErasurePolicy { K = k, N = backends.Length, WriteQuorum = writeQuorum },
        };
        var placement = new BucketPlacement(planner, null, new Dictionary<string, PlacementPolicy> { [Bucket] = policy });
        Assert.Empty(placement.Problems());
        return new PlacementBlobStore(backends.Select(b => new PlacementBackend(b.Name, b.Store)).ToList(), placement) { ReadTimeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>tools/verify_erasure.py --rebuild: zfec rebuilds the blob from the share files; returns its bytes.</summary>
    public static byte[] RebuildWithZfec(IReadOnlyList<string> shareFiles)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "tools", "verify_erasure.py"))) dir = dir.Parent;
        Assert.True(dir is not null, "tools/verify_erasure.py not found above the test directory");
        Assert.True(File.Exists("/usr/bin/python3"), "Debian's python3 is required (scripts/test.sh installs it)");
        var output = Path.GetTempFileName();
        try
        {
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { Path.Combine(dir.FullName, "tools", "verify_erasure.py"), "--rebuild", output }.Concat(shareFiles)) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.False(err.Contains("No module named 'zfec'"), "python3-zfec is required (.ci/install-test-deps.sh installs it)");
            Assert.True(p.ExitCode == 0, "verify_erasure.py failed: " + err);
            return File.ReadAllBytes(output);
        }
        finally
        {
            File.Delete(output);
        }
    }

    /// <summary>Each backend's share blob of <paramref name="key"/>, copied to a file (for the Python decoder).</summary>
    public static async Task<List<string>> ShareFilesAsync(PlacementBlobStore store, string key, string directory)
    {
        var files = new List<string>();
        foreach (var backend in store.Backends)
        {
            if (await backend.Store.HeadAsync(key) is null) continue;
            var path = Path.Combine(directory, backend.Name + ".share");
            await using (var read = await backend.Store.GetAsync(key))
            await using (var file = File.Create(path))
                await read.Content.CopyToAsync(file);
            files.Add(path);
        }
        return files;
    }
}

/// <summary>A backend that can be switched off (a provider refusing service) and on again, or pointed at a restarted server.</summary>
public sealed class SwitchableBlobStore(IBlobStore inner) : IBlobStore
{
    private volatile IBlobStore _inner = inner;
    public volatile bool Down;

    public void Replace(IBlobStore store) => _inner = store;

    private IBlobStore Inner => Down ? throw new BlobStoreException(BlobStoreError.Unavailable, Name, null, $"backend '{Name}' is down (test)") : _inner;

    public string Name => _inner.Name;
    public string Describe() => _inner.Describe();
    public Task PutAsync(string key, Stream content, long? length, IReadOnlyDictionary<string, string> metadata, CancellationToken ct = default) =>
        Inner.PutAsync(key, content, length, metadata, ct);
    public Task<BlobReadResult> GetAsync(string key, long offset = 0, long? length = null, CancellationToken ct = default) => Inner.GetAsync(key, offset, length, ct);
    public Task<BlobInfo?> HeadAsync(string key, CancellationToken ct = default) => Inner.HeadAsync(key, ct);
    public Task DeleteAsync(string key, CancellationToken ct = default) => Inner.DeleteAsync(key, ct);
    public IAsyncEnumerable<BlobListEntry> ListAsync(string prefix = "", CancellationToken ct = default) => Inner.ListAsync(prefix, ct);
}
