using BenchmarkDotNet.Attributes;
using Coffre.Objects;
using Coffre.Objects.Versions;
using Coffre.Server.Hosting;

namespace Coffre.Bench.Objects;

/// <summary>
/// PUT and GET of a small object (4 KiB) through the object store (encryption, catalog commit on SQLite, local disk),
/// in a bucket never versioned and in a versioned one: issue 14's target is versioned within 10% of unversioned.
/// Run: dotnet run -c Release --project bench/Coffre.Bench -- --filter '*VersionedObjectBenchmarks*' --inProcess --warmupCount 3 --iterationCount 7 --invocationCount 2048
/// </summary>
[MemoryDiagnoser]
public class VersionedObjectBenchmarks
{
    private const string Principal = "bench";
    private readonly byte[] _body = new byte[4096];
    private string _data = null!;
    private Deployment _deployment = null!;
    private ObjectStore _store = null!;
    private int _next;

    [Params(false, true)]
    public bool Versioned { get; set; }

    private string Bucket => Versioned ? "versioned" : "plain";

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _data = Directory.CreateTempSubdirectory("coffre-bench-versions-").FullName;
        _deployment = await Deployment.InitializeAsync(new DeploymentLocation(_data), "benchmark passphrase (not secret)");
        _deployment.Keys.CreateKey("default", null, Principal);
        var objects = new ObjectServices(new CoffreServerOptions(), _deployment, TimeProvider.System);
        _store = objects.Store;
        await _store.CreateBucketAsync(Bucket, Principal);
        if (Versioned) await objects.Catalog.SetBucketVersioningAsync(Bucket, BucketVersioning.Enabled);
        Random.Shared.NextBytes(_body);
        // GET reads one of 64 keys, each overwritten 8 times (8 versions each when versioned).
        for (var round = 0; round < 8; round++)
            for (var i = 0; i < 64; i++)
                await PutAsync($"read/{i}");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _deployment.Dispose();
        Directory.Delete(_data, recursive: true);
    }

    private Task<Coffre.Objects.Catalog.ObjectRecord> PutAsync(string name) =>
        _store.PutObjectAsync(new PutObjectCommand(Bucket, name, new MemoryStream(_body), _body.Length, new ObjectMetadata(), Principal));

    /// <summary>An overwrite of one of 64 keys: a new version each time when versioned, a replaced null version otherwise.</summary>
    [Benchmark]
    public Task Put() => PutAsync($"write/{_next++ % 64}");

    [Benchmark]
    public async Task Get()
    {
        var record = await _store.GetRecordAsync(Bucket, $"read/{_next++ % 64}");
        using var reader = await _store.OpenAsync(record, Principal);
        await reader.Body.CopyToAsync(Stream.Null);
    }
}
