using System.Security.Cryptography;
using Coffre.Storage.Placement;
using Coffre.TestSupport;

namespace Coffre.Storage.Tests.Placement;

/// <summary>
/// Writes are acknowledged only when every copy is durable and leave nothing when one fails; reads fail over to
/// another copy, mid-body when a provider dies during a GET.
/// </summary>
public sealed class ReplicationTests
{
    private static readonly Dictionary<string, string> Meta = new() { ["coffre-part"] = "1" };

    private static async Task PutAsync(IBlobStore store, string key, byte[] data)
    {
        using var body = new MemoryStream(data, writable: false);
        await store.PutAsync(key, body, data.Length, Meta);
    }

    [Fact]
    public async Task A_two_copy_write_with_one_provider_stopped_is_refused_and_leaves_nothing()
    {
        using var dir = new TempDirectory();
        using var moto = new MotoServer();
        await moto.CreateBucketAsync("copies");
        var local = new LocalDiskBlobStore(dir.Path);
        using var store = ReplicatedStores.Create(2, ("local", local), ("moto", ReplicatedStores.S3("moto", moto, "copies", TimeSpan.FromSeconds(5))));
        await PutAsync(store, "objects/before", TestData.Random(1000, 1));
        Assert.NotNull(await local.HeadAsync("objects/before"));

        moto.Stop();
        var e = await Assert.ThrowsAsync<BlobStoreException>(() => PutAsync(store, "objects/during", TestData.Random(300_000, 2)));
        Assert.Equal(BlobStoreError.Unavailable, e.Error);
        Assert.Contains("moto", e.Message);
        Assert.Null(await local.HeadAsync("objects/during"));
        Assert.False(store.Health.Status("moto").Healthy);
        Assert.True(store.Health.Status("local").Healthy);
    }

    [Fact]
    public async Task A_copy_that_times_out_after_the_other_is_durable_fails_the_write_and_the_durable_copy_is_deleted()
    {
        using var dir = new TempDirectory();
        await using var frozen = new FrozenTcpServer();
        var local = new LocalDiskBlobStore(dir.Path);
        using var store = ReplicatedStores.Create(2, ("local", local), ("frozen", ReplicatedStores.Unreachable("frozen", frozen.Port, TimeSpan.FromSeconds(2))));
        // The body fits the pipes: the local copy completes long before the frozen provider's deadline.
        var e = await Assert.ThrowsAsync<BlobStoreException>(() => PutAsync(store, "objects/late", TestData.Random(200_000, 3)));
        Assert.Equal(BlobStoreError.Unavailable, e.Error);
        Assert.Null(await local.HeadAsync("objects/late"));
        Assert.Empty(await local.ListAsync("objects/").ToListAsync());
    }

    [Fact]
    public async Task A_get_whose_provider_is_killed_mid_body_returns_the_whole_object_from_the_other_copy()
    {
        using var dir = new TempDirectory();
        using var moto = new MotoServer();
        await moto.CreateBucketAsync("copies");
        var local = new LocalDiskBlobStore(dir.Path);
        using var store = ReplicatedStores.Create(2, ("moto", ReplicatedStores.S3("moto", moto, "copies", TimeSpan.FromMinutes(2))), ("local", local));
        var data = TestData.Random(24 * 1024 * 1024, 4);
        await PutAsync(store, "objects/big", data);
        // Reads prefer the fastest healthy copy: make the local one look slow so that moto serves the GET.
        for (var i = 0; i < 20; i++) store.Health.Succeeded("local", TimeSpan.FromSeconds(10), read: true);

        await using var read = await store.GetAsync("objects/big", 1000, null);
        Assert.Equal(data.Length - 1000, read.Length);
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (received.Length < 1024 * 1024)
            received.Write(buffer, 0, await read.Content.ReadAsync(buffer));
        moto.Stop(); // killed by process id mid-body
        await read.Content.CopyToAsync(received);

        Assert.Equal(data.Length - 1000, received.Length);
        Assert.Equal(SHA256.HashData(data.AsSpan(1000)), SHA256.HashData(received.ToArray()));
        Assert.False(store.Health.Status("moto").Healthy, "moto served the whole body before it was killed: the failover was not exercised");
    }

    [Fact]
    public async Task A_copy_missing_on_one_provider_is_read_from_another_and_an_annex_follows_its_base()
    {
        using var a = new TempDirectory();
        using var b = new TempDirectory();
        var left = new LocalDiskBlobStore(a.Path);
        var right = new LocalDiskBlobStore(b.Path);
        using var store = ReplicatedStores.Create(2, ("left", left), ("right", right));
        var data = TestData.Random(5000, 5);
        using (PlacementScope.Enter("replicated")) await PutAsync(store, "objects/abc", data);
        await left.DeleteAsync("objects/abc");
        await using (var r = await store.GetAsync("objects/abc")) Assert.Equal(data, await TestData.ReadAllAsync(r));

        // A sidecar written outside any request (the rewrapper) lands where its base blob is, not by the default policy.
        await PutAsync(store, "objects/abc.key", []);
        Assert.Null(await left.HeadAsync("objects/abc.key"));
        Assert.NotNull(await right.HeadAsync("objects/abc.key"));

        await store.DeleteAsync("objects/abc");
        Assert.Null(await right.HeadAsync("objects/abc"));
        await Assert.ThrowsAsync<BlobNotFoundException>(() => store.GetAsync("objects/abc"));
    }
}

internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("coffre-placement-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
