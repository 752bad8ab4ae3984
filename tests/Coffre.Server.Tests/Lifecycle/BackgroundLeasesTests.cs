using Coffre.Kms.Store;
using Coffre.Objects;
using Coffre.Server.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Coffre.Server.Tests.Lifecycle;

/// <summary>
/// Background jobs under their lease, two instances on one key database (two handles on the same keys.db, as two
/// processes have): one runs a job at a time, a running job keeps its lease past its duration by renewing it, and a
/// holder whose lease passed to the other instance stops before its next write (the fence).
/// </summary>
public sealed class BackgroundLeasesTests
{
    private const string Bucket = "data";
    // Long enough that a renewal (every third of it) delayed by a loaded machine does not lose a live holder its lease:
    // at 3 s, a CI run saw instance B fenced out of its own rewrap.
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);

    private static BackgroundLeases Instance(ILeaseStore store, TimeProvider? time = null) =>
        new(store, Duration, time ?? TimeProvider.System, NullLogger<BackgroundLeases>.Instance);

    [Fact]
    public async Task A_running_job_renews_its_lease_so_the_other_instance_never_runs_it_meanwhile()
    {
        using var env = new LocalObjects();
        var a = Instance(env.Deployment.Database.Leases);
        var b = Instance(env.Deployment.Database.Leases);
        using var running = new SemaphoreSlim(0);
        using var finish = new SemaphoreSlim(0);
        var job = a.RunAsync(BackgroundLeases.Rewrap, async (_, ct) =>
        {
            running.Release();
            await finish.WaitAsync(ct);
        }, CancellationToken.None);
        await running.WaitAsync();
        // Two lease durations: without renewals the lease would have expired.
        var until = DateTime.UtcNow + 2 * Duration;
        var tries = 0;
        while (DateTime.UtcNow < until)
        {
            Assert.False(await b.RunAsync(BackgroundLeases.Rewrap, (_, _) => throw new Xunit.Sdk.XunitException("ran while the other instance held the lease"),
                CancellationToken.None));
            tries++;
            await Task.Delay(100);
        }
        finish.Release();
        Assert.True(await job);
        Assert.True(tries > 10);
        // Released at the end of the job: the other instance runs it at once.
        var ran = false;
        Assert.True(await b.RunAsync(BackgroundLeases.Rewrap, (_, _) => { ran = true; return Task.CompletedTask; }, CancellationToken.None));
        Assert.True(ran);
    }

    [Fact]
    public async Task A_holder_whose_lease_passed_to_another_instance_stops_before_its_next_write_and_the_other_finishes_the_rewrap()
    {
        using var env = new LocalObjects();
        await env.Store.CreateBucketAsync(Bucket, LocalObjects.Principal);
        const int count = 40;
        for (var i = 0; i < count; i++) await env.PutAsync(Bucket, Name(i), LocalObjects.Content(i));
        env.Keys.RotateKey("default", LocalObjects.Principal);
        var keyId = env.Keys.DescribeKey("default", LocalObjects.Principal).Id;

        // Instance A stalls (its clock never ticks, so it never renews, as a process paused by the OS or a long GC):
        // its lease expires on the database's clock and instance B takes the rewrap over.
        var stalled = Instance(env.Deployment.Database.Leases, new FakeTimeProvider(DateTimeOffset.UtcNow));
        var other = Instance(env.Deployment.Database.Leases);
        using var takenOver = new SemaphoreSlim(0);
        RewrapResult? byOther = null;
        var stale = stalled.RunAsync(BackgroundLeases.Rewrap, async (lease, ct) =>
        {
            await takenOver.WaitAsync(ct);
            // A wakes up and goes on with the rewrap it started: the fence stops it before its first write.
            await env.Rewrapper.RunAsync(new RewrapRequest(), "instance-a", ct: ct, fence: t => stalled.FenceAsync(lease, t));
        }, CancellationToken.None);
        var deadline = DateTime.UtcNow + 6 * Duration;
        while (!await other.RunAsync(BackgroundLeases.Rewrap, async (lease, ct) =>
               {
                   byOther = await env.Rewrapper.RunAsync(new RewrapRequest(), "instance-b", ct: ct, fence: t => other.FenceAsync(lease, t));
               }, CancellationToken.None))
        {
            Assert.True(DateTime.UtcNow < deadline, "instance B never got the expired lease");
            await Task.Delay(100);
        }
        Assert.Equal(new RewrapResult(count, 0, 0), byOther);
        // Work appears again (another rotation) while A is still stale.
        env.Keys.RotateKey("default", LocalObjects.Principal);
        takenOver.Release();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stale);

        // Every object rewrapped once, by B; A wrote nothing (no audit record, no sidecar over B's): the objects wait
        // on version 2 for the next holder.
        var audit = env.Keys.ReadAudit(new Coffre.Kms.Audit.AuditFilter(), "auditor");
        Assert.Equal(count, audit.Count(r => r.Principal == "instance-b" && r.Operation == "RewrapDataKey.Wrap"));
        Assert.DoesNotContain(audit, r => r.Principal == "instance-a");
        Assert.Equal(0, await env.Catalog.CountBelowVersionAsync(keyId, 2, null));
        Assert.Equal(count, await env.Catalog.CountBelowVersionAsync(keyId, 3, null));
        for (var i = 0; i < count; i++)
        {
            var record = await env.Store.GetRecordAsync(Bucket, Name(i));
            Assert.Equal(2, record.Key.KeyVersion);
            Assert.Equal(LocalObjects.Content(i), await env.ReadAsync(Bucket, Name(i)));
            await env.AssertBackendKeyMatchesCatalogAsync(record);
        }
        Assert.True(env.Keys.VerifyAudit("auditor").Ok);
    }

    private static string Name(int i) => $"objects/{i:D4}";
}
