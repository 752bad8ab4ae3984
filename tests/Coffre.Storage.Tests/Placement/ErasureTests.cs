using System.Security.Cryptography;
using Coffre.Storage.Erasure;
using Coffre.Storage.Placement;
using Coffre.TestSupport;
using FsCheck;
using FsCheck.Xunit;

namespace Coffre.Storage.Tests.Placement;

/// <summary>
/// Erasure-coded placement: each blob as N shares on N backends, any K rebuild it, no backend holds it whole; a damaged
/// share is left out and repaired; fewer than K shares is a clear error, never wrong bytes; zfec rebuilds what Coffre wrote.
/// </summary>
public sealed class ErasureTests
{
    private static readonly Dictionary<string, string> Meta = new() { ["coffre-part"] = "1" };

    private static async Task PutAsync(IBlobStore store, string key, byte[] data, bool lengthKnown = true)
    {
        using var scope = PlacementScope.Enter(ErasureStores.Bucket);
        using var body = new MemoryStream(data, writable: false);
        await store.PutAsync(key, body, lengthKnown ? data.Length : null, Meta);
    }

    private static async Task<byte[]> GetAsync(IBlobStore store, string key, long offset = 0, long? length = null, bool scoped = true)
    {
        using var scope = PlacementScope.Enter(scoped ? ErasureStores.Bucket : null);
        await using var read = await store.GetAsync(key, offset, length);
        return await TestData.ReadAllAsync(read);
    }

    private static (string, IBlobStore)[] LocalBackends(TempDirectory dir, int n) =>
        Enumerable.Range(0, n).Select(i => ($"disk{i}", (IBlobStore)new SwitchableBlobStore(new LocalDiskBlobStore(Path.Combine(dir.Path, $"disk{i}"))))).ToArray();

    [Theory]
    [InlineData(2, 3)]
    [InlineData(3, 5)]
    [InlineData(4, 6)]
    public async Task Blobs_of_every_size_round_trip_and_no_backend_holds_one_whole(int k, int n)
    {
        using var dir = new TempDirectory();
        using var store = ErasureStores.Create(k, null, LocalBackends(dir, n));
        var stripe = k * ErasurePolicy.DefaultBlockLength;
        foreach (var (size, i) in new[] { 0, 1, k - 1, 1000, stripe - 1, stripe, stripe + 1, 3 * stripe + 12345 }.Select((s, i) => (s, i)))
        {
            var data = TestData.Random(size, i);
            await PutAsync(store, $"objects/{i}", data, lengthKnown: i % 2 == 0);
            Assert.Equal(data, await GetAsync(store, $"objects/{i}"));
            Assert.Equal(data, await GetAsync(store, $"objects/{i}", scoped: false)); // a background reader outside the bucket's scope
            using (PlacementScope.Enter(ErasureStores.Bucket))
            {
                var info = await store.HeadAsync($"objects/{i}");
                Assert.Equal(size, info!.Length);
                Assert.Equal(Meta, info.Metadata);
            }
            foreach (var backend in store.Backends)
            {
                var share = await backend.Store.HeadAsync($"objects/{i}");
                Assert.True(share!.Length <= ShareFormat.HeaderLength + ShareFormat.TrailerLength + (size + k - 1) / k + 4 * (size / stripe + 1),
                    $"{backend.Name} holds {share.Length} bytes of a {size}-byte blob");
            }
        }
    }

    [Property(MaxTest = 40)]
    public void Range_reads_fetch_the_right_bytes(NonNegativeInt a, NonNegativeInt b)
    {
        RangeAsync(a.Get, b.Get).GetAwaiter().GetResult();
    }

    private static async Task RangeAsync(int a, int b)
    {
        using var dir = new TempDirectory();
        using var store = ErasureStores.Create(3, 4, LocalBackends(dir, 5));
        var data = TestData.Random(700_000, 7);
        await PutAsync(store, "objects/r", data);
        var offset = a % data.Length;
        var length = b % (data.Length - offset + 10);
        var expected = data.AsSpan(offset, Math.Min(length, data.Length - offset)).ToArray();
        Assert.Equal(expected, await GetAsync(store, "objects/r", offset, length));
    }

    [Fact]
    public async Task Any_n_minus_k_backends_down_reads_stay_correct()
    {
        using var dir = new TempDirectory();
        var backends = LocalBackends(dir, 5);
        using var store = ErasureStores.Create(3, null, backends);
        var data = TestData.Random(1_000_000, 11);
        await PutAsync(store, "objects/x", data);
        foreach (var down in Enumerable.Range(0, 5).SelectMany(i => Enumerable.Range(i + 1, 4 - i).Select(j => (i, j))))
        {
            foreach (var (_, s) in backends) ((SwitchableBlobStore)s).Down = false;
            ((SwitchableBlobStore)backends[down.i].Item2).Down = true;
            ((SwitchableBlobStore)backends[down.j].Item2).Down = true;
            Assert.Equal(data, await GetAsync(store, "objects/x"));
            Assert.Equal(data.AsSpan(400_000, 300_000).ToArray(), await GetAsync(store, "objects/x", 400_000, 300_000));
        }
        // A third backend down: fewer than K shares — a retryable outage, never bytes.
        ((SwitchableBlobStore)backends[0].Item2).Down = true;
        var e = await Assert.ThrowsAsync<BlobStoreException>(() => GetAsync(store, "objects/x"));
        Assert.Equal(BlobStoreError.Unavailable, e.Error);
        Assert.Contains("2 good share(s)", e.Message);
        Assert.Contains("3 are needed", e.Message);
    }

    [Fact]
    public async Task Writes_need_the_quorum_and_leave_the_missing_shares_to_repair()
    {
        using var dir = new TempDirectory();
        var backends = LocalBackends(dir, 5);
        using var store = ErasureStores.Create(3, null, backends); // quorum K+1 = 4
        var disk4 = (SwitchableBlobStore)backends[4].Item2;
        disk4.Down = true;
        var data = TestData.Random(500_000, 12);
        await PutAsync(store, "objects/one-down", data); // 4 of 5: acknowledged
        ((SwitchableBlobStore)backends[3].Item2).Down = true;
        var e = await Assert.ThrowsAsync<BlobStoreException>(() => PutAsync(store, "objects/two-down", data));
        Assert.Equal(BlobStoreError.Unavailable, e.Error);
        Assert.Contains("Only 3 of the 5 shares", e.Message);
        foreach (var (name, s) in backends.Take(3)) Assert.Null(await ((SwitchableBlobStore)s).HeadAsync("objects/two-down"));

        foreach (var (_, s) in backends) ((SwitchableBlobStore)s).Down = false;
        Assert.Null(await disk4.HeadAsync("objects/one-down"));
        var outcome = await new BlobRepairer(store, TimeProvider.System).RepairAsync(new RepairItem("objects/one-down", data.Length, []), store.Placement.CopiesOf(ErasureStores.Bucket));
        Assert.Null(outcome.Problem);
        Assert.Equal(["disk4"], outcome.Rewritten);
        // The rebuilt share is the very share the encoder would have written: zfec rebuilds the blob from it and any two others.
        using var shares = new TempDirectory();
        var files = await ErasureStores.ShareFilesAsync(store, "objects/one-down", shares.Path);
        Assert.Equal(data, ErasureStores.RebuildWithZfec([files[4], files[0], files[2]]));
        Assert.Empty((await new BlobRepairer(store, TimeProvider.System).RepairAsync(new RepairItem("objects/one-down", data.Length, []), store.Placement.CopiesOf(ErasureStores.Bucket))).Rewritten);
    }

    [Fact]
    public async Task A_damaged_share_is_detected_left_out_and_repaired()
    {
        using var dir = new TempDirectory();
        using var store = ErasureStores.Create(2, null, LocalBackends(dir, 3));
        var data = TestData.Random(300_000, 13);
        await PutAsync(store, "objects/d", data);
        // Flip one byte in the middle of disk0's share (a systematic one: it would be read first).
        var file = Directory.EnumerateFiles(Path.Combine(dir.Path, "disk0"), "*.d", SearchOption.AllDirectories).Single();
        var bytes = File.ReadAllBytes(file);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(file, bytes);

        Assert.Equal(data, await GetAsync(store, "objects/d"));
        Assert.False(store.Health.Status("disk0").Healthy);
        var outcome = await new BlobRepairer(store, TimeProvider.System).RepairAsync(new RepairItem("objects/d", data.Length, []), store.Placement.CopiesOf(ErasureStores.Bucket));
        Assert.Equal(["disk0"], outcome.Rewritten);
        Assert.NotEqual(bytes, File.ReadAllBytes(Directory.EnumerateFiles(Path.Combine(dir.Path, "disk0"), "*.d", SearchOption.AllDirectories).Single()));

        // Two of three shares damaged: fewer than K good ones, the read fails rather than return a byte it could not check.
        foreach (var disk in new[] { "disk0", "disk1" })
        {
            var f = Directory.EnumerateFiles(Path.Combine(dir.Path, disk), "*.d", SearchOption.AllDirectories).Single();
            var b = File.ReadAllBytes(f);
            b[100] ^= 1;
            File.WriteAllBytes(f, b);
        }
        var e = await Assert.ThrowsAsync<BlobStoreException>(() => GetAsync(store, "objects/d"));
        Assert.Equal(BlobStoreError.Corrupt, e.Error);
        Assert.Contains("cannot be rebuilt", e.Message);
    }

    [Property(MaxTest = 12)]
    public void Zfec_rebuilds_random_blobs_from_the_shares_coffre_wrote(PositiveInt size, NonNegativeInt shape, int seed)
    {
        ZfecAsync(size.Get % 400_000, shape.Get % 3, seed).GetAwaiter().GetResult();
    }

    private static async Task ZfecAsync(int size, int shape, int seed)
    {
        var (k, n) = new[] { (2, 3), (3, 5), (4, 6) }[shape];
        using var dir = new TempDirectory();
        using var store = ErasureStores.Create(k, null, LocalBackends(dir, n));
        var data = TestData.Random(size, seed);
        await PutAsync(store, "objects/z", data, lengthKnown: seed % 2 == 0);
        using var shares = new TempDirectory();
        var files = await ErasureStores.ShareFilesAsync(store, "objects/z", shares.Path);
        var subset = files.OrderBy(_ => Random.Shared.Next()).Take(k).ToList();
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(ErasureStores.RebuildWithZfec(subset)));
    }
}
