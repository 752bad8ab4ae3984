using Coffre.Storage.Placement;
using Coffre.TestSupport;

namespace Coffre.Storage.Tests.Placement;

/// <summary>Placement stores over real backends: S3 servers on 127.0.0.1 and local disk, each described as a different provider.</summary>
public static class ReplicatedStores
{
    public static S3BlobStore S3(string name, ExternalServer server, string bucket, TimeSpan? requestTimeout = null) => new(new S3BlobStoreOptions
    {
        Name = name,
        Endpoint = server.Endpoint,
        Region = server.Region,
        Bucket = bucket,
        ForcePathStyle = true,
        AccessKeyId = server.AccessKey,
        SecretAccessKey = server.SecretKey,
        RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(20),
    });

    public static S3BlobStore Unreachable(string name, int port, TimeSpan requestTimeout) => new(new S3BlobStoreOptions
    {
        Name = name,
        Endpoint = $"http://127.0.0.1:{port}",
        Bucket = "unreachable",
        ForcePathStyle = true,
        AccessKeyId = "k",
        SecretAccessKey = "s",
        Timeout = requestTimeout,
        RequestTimeout = requestTimeout,
    });

    /// <summary>
    /// A store writing <paramref name="copies"/> copies on the given backends (in order), each with a distinct operator,
    /// as the policy of bucket "replicated" and of the default placement.
    /// </summary>
    public static PlacementBlobStore Create(int copies, params (string Name, IBlobStore Store)[] backends)
    {
        var facts = backends.Select((b, i) => BackendFacts.Resolve(b.Name, null,
            new FactsOptions { Country = "FR", Operator = "Operator " + i, Jurisdiction = "FR" }, PlacementTestCatalog.Shipped));
        var planner = new PlacementPlanner(facts.ToDictionary(f => f.Backend, StringComparer.Ordinal));
        var policy = new PlacementPolicy { Backends = backends.Select(b => b.Name).ToList(), Copies = copies, DistinctBy = ["Operator"] };
        var placement = new BucketPlacement(planner, policy, new Dictionary<string, PlacementPolicy> { ["replicated"] = policy });
        Assert.Empty(placement.Problems());
        return new PlacementBlobStore(backends.Select(b => new PlacementBackend(b.Name, b.Store)).ToList(), placement);
    }
}

/// <summary>moto and s3rver as two providers, for the contract suite on two copies.</summary>
public sealed class TwoProviderFixture : IAsyncLifetime
{
    public MotoServer Moto { get; } = new();
    public S3rverServer S3rver { get; } = new();
    public PlacementBlobStore Store { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Task.WhenAll(Moto.StartAsync(), S3rver.StartAsync());
        await Moto.CreateBucketAsync("copies");
        await S3rver.CreateBucketAsync("copies");
        Store = ReplicatedStores.Create(2, ("moto", ReplicatedStores.S3("moto", Moto, "copies")), ("s3rver", ReplicatedStores.S3("s3rver", S3rver, "copies")));
    }

    public Task DisposeAsync()
    {
        Store?.Dispose();
        Moto.Dispose();
        S3rver.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>The blob store contract holds through the placement layer with two copies on two providers.</summary>
public sealed class PlacementBlobStoreContractTests(TwoProviderFixture fixture) : BlobStoreContractTests, IClassFixture<TwoProviderFixture>
{
    protected override IBlobStore Store => fixture.Store;

    /// <summary>Every blob the contract writes is on both providers, byte for byte.</summary>
    protected override async Task AssertStreamedUploadAsync(string key, long length)
    {
        foreach (var backend in fixture.Store.Backends)
            Assert.Equal(length, (await backend.Store.HeadAsync(key))?.Length);
    }
}
