using Coffre.Storage.Placement;

namespace Coffre.Storage.Tests.Placement;

/// <summary>Repair compares ciphertext copies (length, first bytes, SHA-256) and rewrites the missing and damaged ones, without keys.</summary>
public sealed class BlobRepairerTests
{
    private static async Task PutAsync(IBlobStore store, string key, byte[] data)
    {
        using var body = new MemoryStream(data, writable: false);
        await store.PutAsync(key, body, data.Length, new Dictionary<string, string> { ["coffre-part"] = "0" });
    }

    private static async Task<byte[]> ReadAsync(IBlobStore store, string key)
    {
        await using var r = await store.GetAsync(key);
        return await TestData.ReadAllAsync(r);
    }

    [Fact]
    public async Task Missing_truncated_and_altered_copies_are_rewritten_from_the_good_one()
    {
        using var a = new TempDirectory();
        using var b = new TempDirectory();
        using var c = new TempDirectory();
        var left = new LocalDiskBlobStore(a.Path);
        var middle = new LocalDiskBlobStore(b.Path);
        var right = new LocalDiskBlobStore(c.Path);
        using var store = ReplicatedStores.Create(3, ("left", left), ("middle", middle), ("right", right));
        var data = TestData.Random(300_000, 11);
        await PutAsync(store, "objects/one", data);
        var item = new RepairItem("objects/one", data.Length, data[..64]);
        var repairer = new BlobRepairer(store, TimeProvider.System);
        var copies = new[] { "left", "middle", "right" };

        Assert.Empty((await repairer.RepairAsync(item, copies)).Rewritten);

        await left.DeleteAsync("objects/one");
        await PutAsync(middle, "objects/one", data[..1000]); // truncated
        var outcome = await repairer.RepairAsync(item, copies);
        Assert.Equal(["left", "middle"], outcome.Rewritten);
        Assert.Null(outcome.Problem);
        Assert.Equal(data, await ReadAsync(left, "objects/one"));
        Assert.Equal(data, await ReadAsync(middle, "objects/one"));

        // Same length and header, one byte changed in the body: the two agreeing copies win.
        var altered = (byte[])data.Clone();
        altered[200_000] ^= 1;
        await PutAsync(right, "objects/one", altered);
        Assert.Equal(["right"], (await repairer.RepairAsync(item, copies)).Rewritten);
        Assert.Equal(data, await ReadAsync(right, "objects/one"));
    }

    [Fact]
    public async Task Copies_that_disagree_with_no_majority_are_left_alone_and_reported()
    {
        using var a = new TempDirectory();
        using var b = new TempDirectory();
        var left = new LocalDiskBlobStore(a.Path);
        var right = new LocalDiskBlobStore(b.Path);
        using var store = ReplicatedStores.Create(2, ("left", left), ("right", right));
        var data = TestData.Random(10_000, 12);
        var other = (byte[])data.Clone();
        other[9_000] ^= 1;
        await PutAsync(left, "objects/two", data);
        await PutAsync(right, "objects/two", other);
        var outcome = await new BlobRepairer(store, TimeProvider.System).RepairAsync(new RepairItem("objects/two", data.Length, data[..64]), ["left", "right"]);
        Assert.Empty(outcome.Rewritten);
        Assert.Contains("copies disagree with no majority", outcome.Problem);
        Assert.Equal(other, await ReadAsync(right, "objects/two"));
    }

    [Fact]
    public async Task A_copy_on_a_provider_that_is_down_is_reported_unreachable_and_repaired_when_it_returns()
    {
        using var a = new TempDirectory();
        using var moto = new Coffre.TestSupport.MotoServer();
        await moto.CreateBucketAsync("repair");
        var local = new LocalDiskBlobStore(a.Path);
        using var store = ReplicatedStores.Create(2, ("local", local), ("moto", ReplicatedStores.S3("moto", moto, "repair", TimeSpan.FromSeconds(5))));
        var data = TestData.Random(50_000, 13);
        await PutAsync(local, "objects/three", data); // written while moto was unreachable, say
        var item = new RepairItem("objects/three", data.Length, data[..64]);
        var repairer = new BlobRepairer(store, TimeProvider.System);
        var outcome = await repairer.RepairAsync(item, ["local", "moto"]);
        Assert.Equal(["moto"], outcome.Rewritten);
        Assert.Equal(data, await ReadAsync(store.Backend("moto"), "objects/three"));

        moto.Stop();
        await local.DeleteAsync("objects/three");
        var down = await repairer.RepairAsync(item, ["local", "moto"]);
        Assert.Equal(["moto"], down.Unreachable);
        Assert.Contains("retry when the others are back", down.Problem);
    }
}
