using System.Collections.Concurrent;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Server.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Coffre.Server.Tests.Lifecycle;

public sealed class RewrapTests
{
    private const string Bucket = "data";

    [Fact]
    public async Task Rewrap_while_objects_are_overwritten_deleted_and_collected_leaves_every_object_readable_on_the_primary_version()
    {
        using var env = new LocalObjects();
        await env.Store.CreateBucketAsync(Bucket, LocalObjects.Principal);
        const int count = 1500;
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (i, _) => await env.PutAsync(Bucket, Name(i), LocalObjects.Content(i)));
        env.Keys.RotateKey("default", LocalObjects.Principal);
        var keyId = env.Keys.DescribeKey("default", LocalObjects.Principal).Id;
        Assert.Equal(count, await env.Catalog.CountBelowVersionAsync(keyId, 2, null));

        // Writers: i % 4 == 0 overwritten (twice), i % 4 == 1 deleted, the rest untouched. Garbage
        // (replaced and deleted blobs) is collected at once, under the rewrapper's feet.
        var latest = new ConcurrentDictionary<int, byte[]>();
        var stop = new CancellationTokenSource();
        var rewrap = Task.Run(() => env.Rewrapper.RunAsync(new RewrapRequest(), "rewrapper"));
        var writers = Task.Run(() => Parallel.ForEachAsync(Enumerable.Range(0, count).Where(i => i % 4 is 0 or 1).Reverse(),
            new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
            {
                if (i % 4 == 1)
                {
                    await env.Store.DeleteObjectAsync(Bucket, Name(i));
                    return;
                }
                for (var generation = 1; generation <= 2; generation++)
                {
                    var body = LocalObjects.Content(i, generation);
                    await env.PutAsync(Bucket, Name(i), body);
                    latest[i] = body;
                }
            }));
        var collector = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await env.Store.CollectGarbageAsync();
                await Task.Delay(5);
            }
        });
        var result = await rewrap;
        await writers;
        stop.Cancel();
        await collector;

        Assert.Equal(0, result.Remaining);
        Assert.True(result.Rewrapped + result.Skipped <= count, $"{result.Rewrapped} rewrapped + {result.Skipped} skipped > {count}");
        Assert.Equal(0, await env.Catalog.CountBelowVersionAsync(keyId, 2, null));
        for (var i = 0; i < count; i++)
        {
            if (i % 4 == 1)
            {
                Assert.Null(await env.Catalog.GetObjectAsync(Bucket, Name(i)));
                continue;
            }
            var record = await env.Store.GetRecordAsync(Bucket, Name(i));
            Assert.Equal(2, record.Key.KeyVersion);
            var expected = i % 4 == 0 ? latest[i] : LocalObjects.Content(i);
            Assert.Equal(expected, await env.ReadAsync(Bucket, Name(i)));
            await env.AssertBackendKeyMatchesCatalogAsync(record);
        }
        // Nothing left for a second run.
        var again = await env.Rewrapper.RunAsync(new RewrapRequest(), "rewrapper");
        Assert.Equal(new RewrapResult(0, 0, 0), again);
    }

    [Fact]
    public async Task Maintenance_rotates_due_keys_then_rewraps_their_objects()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var env = new LocalObjects(clock);
        await env.Store.CreateBucketAsync(Bucket, LocalObjects.Principal);
        for (var i = 0; i < 50; i++) await env.PutAsync(Bucket, Name(i), LocalObjects.Content(i));
        env.Keys.SetRotationPolicy("default", TimeSpan.FromDays(90), LocalObjects.Principal);
        clock.Advance(TimeSpan.FromDays(90));

        var options = new CoffreServerOptions { MaintenanceInterval = TimeSpan.FromHours(1), RewrapObjectsPerSecond = null };
        var leases = new BackgroundLeases(env.Deployment.Database.Leases, options.LeaseDuration, clock, NullLogger<BackgroundLeases>.Instance);
        using var service = new MaintenanceService(env.Keys, env.Store, env.Rewrapper, leases, options, clock, NullLogger<MaintenanceService>.Instance);
        await service.StartAsync(CancellationToken.None);
        var keyId = env.Keys.DescribeKey("default", LocalObjects.Principal).Id;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while ((await env.Catalog.CountByKeyVersionAsync()).GetValueOrDefault((keyId, 2)) < 50 && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        await service.StopAsync(CancellationToken.None);

        var info = env.Keys.DescribeKey("default", LocalObjects.Principal);
        Assert.Equal(2, info.PrimaryVersion);
        Assert.Equal(clock.GetUtcNow() + TimeSpan.FromDays(90), info.NextRotation);
        Assert.Equal(50, (await env.Catalog.CountByKeyVersionAsync())[(keyId, 2)]);
        Assert.False((await env.Catalog.CountByKeyVersionAsync()).ContainsKey((keyId, 1)));
        for (var i = 0; i < 50; i++) Assert.Equal(LocalObjects.Content(i), await env.ReadAsync(Bucket, Name(i)));

        // Rotation first, then the rewraps, all by the system principal.
        var audit = env.Keys.ReadAudit(new AuditFilter(), "auditor");
        var rotate = audit.Single(r => r.Operation == "RotateKey");
        Assert.Equal(KeyManager.SystemPrincipal, rotate.Principal);
        var wraps = audit.Where(r => r.Operation == "RewrapDataKey.Wrap").ToList();
        Assert.Equal(50, wraps.Count);
        Assert.All(wraps, r => Assert.True(r.Sequence > rotate.Sequence));
        Assert.All(wraps, r => Assert.Equal(KeyManager.SystemPrincipal, r.Principal));
    }

    [Fact]
    public async Task A_disabled_or_destroyed_key_is_skipped_and_does_not_stop_the_rewrap_of_other_keys()
    {
        using var env = new LocalObjects();
        env.Keys.CreateKey("kill-switched", null, LocalObjects.Principal);
        await env.Store.CreateBucketAsync(Bucket, LocalObjects.Principal);
        await env.Store.CreateBucketAsync("off", LocalObjects.Principal, "kill-switched");
        for (var i = 0; i < 20; i++)
        {
            await env.PutAsync(Bucket, Name(i), LocalObjects.Content(i));
            await env.PutAsync("off", Name(i), LocalObjects.Content(i));
        }
        env.Keys.RotateKey("default", LocalObjects.Principal);
        env.Keys.RotateKey("kill-switched", LocalObjects.Principal);
        env.Keys.DisableKey("kill-switched", LocalObjects.Principal);

        // The disabled key's objects stay where they are (and are counted as remaining); the
        // other key's objects move. Maintenance (which rewraps, then collects garbage and writes
        // the audit checkpoint) must not fail on every run because one key is switched off.
        var result = await env.Rewrapper.RunAsync(new RewrapRequest(), "rewrapper");
        Assert.Equal(new RewrapResult(20, 0, 20), result);
        // Passed over, not tried: no refused RewrapDataKey record for it at every maintenance run.
        Assert.Empty(env.Keys.ReadAudit(new AuditFilter { Operation = "RewrapDataKey", Key = "kill-switched" }, "auditor"));
        var defaultId = env.Keys.DescribeKey("default", LocalObjects.Principal).Id;
        Assert.Equal(0, await env.Catalog.CountBelowVersionAsync(defaultId, 2, null));

        env.Keys.EnableKey("kill-switched", LocalObjects.Principal);
        Assert.Equal(new RewrapResult(20, 0, 0), await env.Rewrapper.RunAsync(new RewrapRequest(), "rewrapper"));
        env.Keys.RotateKey("kill-switched", LocalObjects.Principal);
        env.Keys.ScheduleDestruction("kill-switched", TimeSpan.FromDays(1), LocalObjects.Principal);
        await env.PutAsync(Bucket, "late", LocalObjects.Content(99));
        env.Keys.RotateKey("default", LocalObjects.Principal);
        Assert.Equal(new RewrapResult(21, 0, 20), await env.Rewrapper.RunAsync(new RewrapRequest(), "rewrapper"));
        // Asked for explicitly, an unusable key is still an error that names it.
        var e = await Assert.ThrowsAsync<ObjectStoreException>(() => env.Rewrapper.RunAsync(new RewrapRequest(KeyRef: "kill-switched"), "rewrapper"));
        Assert.Contains("kill-switched", e.Message);
    }

    private static string Name(int i) => $"obj/{i:D5}";
}
