using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Coffre.Objects.Catalog;
using Coffre.Objects.Keys;
using Coffre.Objects.Versions;
using Coffre.Sqlite.Objects;

namespace Coffre.Bench.Objects;

/// <summary>
/// One page (1,000 entries, S3's maximum) of ListObjectsV2 and ListObjectVersions from the middle of a bucket of
/// <see cref="Objects"/> objects, and of ListObjectVersions from the middle of one key's <see cref="VersionsOfOneKey"/> versions (a version-id marker),
/// on the SQLite catalog populated through IObjectCatalog (no HTTP). Pages per second = 1 / time per page.
/// Run: dotnet run -c Release --project bench/Coffre.Bench -- --filter '*CatalogListingBenchmarks*' --warmupCount 3 --iterationCount 7
/// (in process, with an hour's bound: the generated project's build times out on a loaded host, and populating
/// 1,100,000 rows takes longer than the in-process toolchain's default bound of 5 minutes)
/// </summary>
[Config(typeof(LongSetupConfig))]
public class CatalogListingBenchmarks
{
    private const int Page = 1000;
    private string _directory = null!;
    private IObjectCatalog _catalog = null!;
    private string _middleVersion = null!;

    [Params(1_000_000)]
    public int Objects { get; set; }

    [Params(100_000)]
    public int VersionsOfOneKey { get; set; }

    private static string Name(int i) => $"dir{i % 10}/obj{i:D8}";

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _directory = Directory.CreateTempSubdirectory("coffre-bench-listing-").FullName;
        _catalog = SqliteObjectCatalog.Open(Path.Combine(_directory, "catalog.db"));
        var now = DateTimeOffset.UtcNow;
        await _catalog.TryCreateBucketAsync(new BucketRecord("many", "k", now));
        await _catalog.TryCreateBucketAsync(new BucketRecord("deep", "k", now));
        await _catalog.SetBucketVersioningAsync("deep", BucketVersioning.Enabled);
        var key = new WrappedKeyRef("k", 1, new byte[40]);
        var started = Stopwatch.StartNew();
        // Commits in parallel: the catalog's group commit batches them.
        await Parallel.ForEachAsync(Enumerable.Range(0, Objects), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
            await _catalog.CommitObjectAsync(Record("many", Name(i), key, now, "null"), ct: ct));
        // Version ids are made in order first, then committed in parallel too (one at a time, each waits for its own
        // fsync, took minutes): the page starts from a version-id marker, whichever order the rows landed in.
        var ids = Enumerable.Range(0, VersionsOfOneKey).Select(_ => VersionIds.New(TimeProvider.System)).ToArray();
        _middleVersion = ids[VersionsOfOneKey / 2];
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (id, ct) =>
            await _catalog.CommitObjectAsync(Record("deep", "one", key, now, id), ct: ct));
        Console.WriteLine($"// populated {Objects:N0} objects and {VersionsOfOneKey:N0} versions in {started.Elapsed.TotalSeconds:F0} s");
    }

    private static ObjectRecord Record(string bucket, string name, WrappedKeyRef key, DateTimeOffset now, string versionId) =>
        new(bucket, name, 4096, "0123456789abcdef0123456789abcdef", now, key, new byte[64],
            [new StoredPart(1, $"objects/{Guid.NewGuid():N}", 4096, 4200, new byte[32], "0123456789abcdef0123456789abcdef", null)]) { VersionId = versionId };

    private sealed class LongSetupConfig : ManualConfig
    {
        public LongSetupConfig() =>
            AddJob(Job.Default.WithToolchain(new InProcessEmitToolchain(TimeSpan.FromHours(1), logOutput: true)));
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        if (_catalog is IAsyncDisposable d) await d.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark]
    public Task<ListPage> ListObjectsV2Page() => _catalog.ListObjectsAsync("many", "", null, Name(Objects / 2), Page);

    [Benchmark]
    public Task<ListPage> ListObjectsV2PageWithDelimiter() => _catalog.ListObjectsAsync("many", "dir5/", "/", Name(Objects / 2), Page);

    [Benchmark]
    public Task<VersionPage> ListObjectVersionsPage() => _catalog.ListVersionsAsync("many", "", null, Name(Objects / 2), null, Page);

    [Benchmark]
    public Task<VersionPage> ListObjectVersionsOfOneKeyPage() => _catalog.ListVersionsAsync("deep", "one", null, "one", _middleVersion, Page);
}
