using System.Collections.Concurrent;
using Coffre.Storage.Placement;
using Coffre.TestSupport;

namespace Coffre.Storage.Tests.Placement;

/// <summary>
/// 3-of-5 over five providers (two moto, two s3rver, local disk): providers are killed and restarted while clients
/// write and read. Reads never fail while at most N−K are down; a write is acknowledged only with its quorum; no
/// acknowledged blob is lost; `repair` restores the shares a provider missed or lost.
/// </summary>
public sealed class ErasureProviderTests
{
    private static readonly Dictionary<string, string> Meta = new() { ["coffre-part"] = "1" };

    [Fact]
    public async Task Providers_stopped_and_restarted_during_writes_and_reads_lose_no_acknowledged_blob()
    {
        using var dir = new TempDirectory();
        using var moto1 = new MotoServer();
        using var moto2 = new MotoServer();
        using var s3rverA = new S3rverServer(["shares"], keepData: true);
        using var s3rverB = new S3rverServer(["shares"]);
        await Task.WhenAll(moto1.StartAsync(), moto2.StartAsync(), s3rverA.StartAsync(), s3rverB.StartAsync());
        await Task.WhenAll(moto1.CreateBucketAsync("shares"), moto2.CreateBucketAsync("shares"));
        S3BlobStore S3(string name, ExternalServer server) => ReplicatedStores.S3(name, server, "shares", TimeSpan.FromSeconds(5));
        var m1 = new SwitchableBlobStore(S3("moto1", moto1));
        var a = new SwitchableBlobStore(S3("s3rverA", s3rverA));
        using var store = ErasureStores.Create(3, null,
            ("moto1", m1), ("s3rverA", a), ("moto2", S3("moto2", moto2)), ("s3rverB", S3("s3rverB", s3rverB)),
            ("local", new LocalDiskBlobStore(dir.Path)));

        var acknowledged = new ConcurrentDictionary<string, byte[]>();
        var refused = 0;
        var readsChecked = 0;
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var data = TestData.Random(1 + i * 7919 % 600_000, i);
                try
                {
                    using var scope = PlacementScope.Enter(ErasureStores.Bucket);
                    await store.PutAsync($"objects/w{i}", new MemoryStream(data), i % 3 == 0 ? null : data.Length, Meta);
                    acknowledged[$"objects/w{i}"] = data;
                }
                catch (BlobStoreException e) when (e.Error == BlobStoreError.Unavailable)
                {
                    Interlocked.Increment(ref refused); // two providers down: fewer than the quorum of 4
                }
            }
        });
        var reader = Task.Run(async () =>
        {
            var random = new Random(1);
            while (!stop.IsCancellationRequested)
            {
                var keys = acknowledged.Keys.ToArray();
                if (keys.Length == 0)
                {
                    await Task.Delay(20);
                    continue;
                }
                var key = keys[random.Next(keys.Length)];
                using var scope = PlacementScope.Enter(ErasureStores.Bucket);
                await using var read = await store.GetAsync(key);
                Assert.Equal(acknowledged[key], await TestData.ReadAllAsync(read));
                Interlocked.Increment(ref readsChecked);
            }
        });

        async Task WhileRunning(int writes)
        {
            var target = acknowledged.Count + writes;
            while (acknowledged.Count < target && !writer.IsCompleted && !reader.IsCompleted) await Task.Delay(50);
            if (writer.IsFaulted || reader.IsFaulted) await Task.WhenAll(writer, reader);
        }

        await WhileRunning(5);
        s3rverA.Stop(); // killed mid-traffic; its data stays on disk
        await WhileRunning(5);
        moto1.Stop(); // two down (N−K): writes are refused, reads go on
        var refusedBefore = refused;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (refused == refusedBefore && DateTime.UtcNow < deadline && !writer.IsCompleted) await Task.Delay(50);
        var readsBefore = readsChecked;
        while (readsChecked < readsBefore + 5 && DateTime.UtcNow < deadline && !reader.IsCompleted) await Task.Delay(50);
        await s3rverA.StartAsync(); // back, on a new port, with what it held
        a.Replace(S3("s3rverA", s3rverA));
        await moto1.StartAsync(); // back, empty: a provider that lost everything
        await moto1.CreateBucketAsync("shares");
        m1.Replace(S3("moto1", moto1));
        await WhileRunning(5);
        stop.Cancel();
        await Task.WhenAll(writer, reader);
        Assert.True(refused > refusedBefore, "no write was refused with two providers down");
        Assert.True(readsChecked > readsBefore, "no read ran with two providers down");

        // Repair every acknowledged blob, then take down the two providers that never stopped: all still read.
        var repairer = new BlobRepairer(store, TimeProvider.System);
        foreach (var (key, data) in acknowledged)
        {
            var outcome = await repairer.RepairAsync(new RepairItem(key, data.Length, []), store.Placement.CopiesOf(ErasureStores.Bucket));
            Assert.Null(outcome.Problem);
            // Every provider is up: none may be left unrepaired as unreachable (s3rver killed mid-write can keep a
            // half-written share that it answers 500 for; repair rewrites it).
            Assert.Empty(outcome.Unreachable);
        }
        moto2.Stop();
        s3rverB.Stop();
        foreach (var (key, data) in acknowledged)
        {
            using var scope = PlacementScope.Enter(ErasureStores.Bucket);
            await using var read = await store.GetAsync(key);
            Assert.Equal(data, await TestData.ReadAllAsync(read));
        }
    }
}
