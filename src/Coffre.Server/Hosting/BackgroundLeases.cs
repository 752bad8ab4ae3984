using Coffre.Kms;
using Coffre.Kms.Store;
using Microsoft.Extensions.Logging;

namespace Coffre.Server.Hosting;

/// <summary>
/// Runs background jobs under their lease in the key database (<see cref="ILeaseStore"/>), so that of the instances
/// sharing a database exactly one runs each job at a time. A job runs only once its lease is taken; the lease is renewed
/// every third of <see cref="Duration"/> while it runs and released when it ends. When a renewal fails (taken over after
/// a pause, or the database unreachable) the job's token is cancelled: its work is retried at a later interval, by this
/// instance or another. A holder that dies stops renewing, and another instance takes the job over once the lease expires.
/// </summary>
public sealed class BackgroundLeases(ILeaseStore leases, TimeSpan duration, TimeProvider time, ILogger<BackgroundLeases> log)
{
    /// <summary>Names of the jobs (the rows of the lease table).</summary>
    public const string Rotation = "rotation", Rewrap = "rewrap", Garbage = "garbage", AuditCheckpoint = "audit-checkpoint", Repair = "repair",
        Lifecycle = "lifecycle";

    /// <summary>This instance in the lease table: host, process and a random part (a restarted process is another holder).</summary>
    public string Holder { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";

    public TimeSpan Duration => duration;

    /// <summary>
    /// Runs <paramref name="job"/> if this instance gets the lease <paramref name="name"/>; false (and nothing run) while
    /// another instance holds it. The job receives its lease (for <see cref="FenceAsync"/>) and a token cancelled when
    /// the lease is lost or <paramref name="ct"/> is.
    /// </summary>
    public async Task<bool> RunAsync(string name, Func<Lease, CancellationToken, Task> job, CancellationToken ct)
    {
        var lease = await leases.TryAcquireAsync(name, Holder, duration, ct).ConfigureAwait(false);
        if (lease is null) return false;
        using var held = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var renewing = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var renewal = RenewAsync(lease, held, renewing.Token);
        try
        {
            await job(lease, held.Token).ConfigureAwait(false);
        }
        finally
        {
            await renewing.CancelAsync().ConfigureAwait(false);
            await renewal.ConfigureAwait(false);
            if (!ct.IsCancellationRequested)
            {
                try
                {
                    await leases.ReleaseAsync(lease, CancellationToken.None).ConfigureAwait(false);
                }
                catch (KmsException e)
                {
                    // It expires by itself: another instance waits one lease duration at most.
                    log.LogWarning("The lease {Lease} could not be released ({Error}); it expires within {Duration}", name, e.Message, duration);
                }
            }
        }
        return true;
    }

    /// <summary>
    /// The fencing check before a write that a stale holder must not make (one whose lease passed to another instance
    /// while it was paused): cancels <paramref name="lease"/>'s job and throws <see cref="OperationCanceledException"/> when
    /// the lease is no longer the current one.
    /// </summary>
    public async Task FenceAsync(Lease lease, CancellationToken ct)
    {
        if (await leases.IsHeldAsync(lease, ct).ConfigureAwait(false)) return;
        log.LogWarning("The lease {Lease} (token {Token}) passed to another instance; this instance stops that job", lease.Name, lease.Token);
        throw new OperationCanceledException($"The lease {lease.Name} is no longer held by this instance.");
    }

    private async Task RenewAsync(Lease lease, CancellationTokenSource held, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(duration / 3, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                Lease? renewed;
                try
                {
                    renewed = await leases.TryAcquireAsync(lease.Name, Holder, duration, stop).ConfigureAwait(false);
                }
                catch (KmsException e)
                {
                    log.LogWarning("The lease {Lease} could not be renewed ({Error}); its job stops and is retried later", lease.Name, e.Message);
                    renewed = null;
                }
                // A new token means another holder had the job between two renewals: this run's view is stale.
                if (renewed is not null && renewed.Token == lease.Token) continue;
                await held.CancelAsync().ConfigureAwait(false);
                return;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }
}
