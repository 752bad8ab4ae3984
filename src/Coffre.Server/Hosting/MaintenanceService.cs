using Coffre.Kms;
using Coffre.Kms.Keys;
using Coffre.Kms.Store;
using Coffre.Objects;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Coffre.Server.Hosting;

/// <summary>
/// Runs the periodic jobs, first at start: background repair of copies (<see cref="BackgroundRepair"/>, even sealed), due
/// key rotations and destructions, rewrap to primary versions, deletion of unreferenced blobs, removal of interrupted
/// writes' leftovers. Each job runs under its lease (<see cref="BackgroundLeases"/>), so of several instances on one
/// database one runs it at a time. (Audit checkpoints: <see cref="Audit.AuditCheckpointService"/>.)
/// </summary>
public sealed class MaintenanceService(KeyManager keys, ObjectStore store, Rewrapper rewrapper, BackgroundLeases leases,
    CoffreServerOptions options, TimeProvider time, ILogger<MaintenanceService> log, BackgroundRepair? repair = null)
    : BackgroundService
{
    private readonly LifecycleJob _lifecycle = new(store, keys, options, time, log);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.MaintenanceInterval, time);
        do
        {
            if (repair is not null)
                await RunAsync(BackgroundLeases.Repair, (_, ct) => repair.RunIfDueAsync(ct), stoppingToken).ConfigureAwait(false);
            // Sealed: rotation, rewrap and checkpoints need keys; the next run after the unseal does them.
            if (keys.IsSealed) continue;
            await RunAsync(BackgroundLeases.Rotation, async (_, ct) =>
            {
                var rotated = await keys.RotateDueKeysAsync(KeyManager.SystemPrincipal).ConfigureAwait(false);
                var destroyed = await keys.DestroyDueKeysAsync(KeyManager.SystemPrincipal).ConfigureAwait(false);
                if (rotated + destroyed > 0) log.LogInformation("Maintenance: {Rotated} key(s) rotated, {Destroyed} destroyed", rotated, destroyed);
            }, stoppingToken).ConfigureAwait(false);
            // Objects follow their key to its primary version (after a rotation, scheduled or manual). The fence before
            // each object's write keeps a holder paused past its lease from overwriting a newer rewrap's sidecar.
            await RunAsync(BackgroundLeases.Rewrap, async (lease, ct) =>
            {
                var rewrap = await rewrapper.RunAsync(new RewrapRequest(ObjectsPerSecond: options.RewrapObjectsPerSecond),
                    KeyManager.SystemPrincipal, ct: ct, fence: t => leases.FenceAsync(lease, t)).ConfigureAwait(false);
                if (rewrap.Rewrapped > 0) log.LogInformation("Rewrap: {Count} object(s) moved to their key's primary version", rewrap.Rewrapped);
            }, stoppingToken).ConfigureAwait(false);
            await RunAsync(BackgroundLeases.Garbage, async (_, ct) =>
            {
                var collected = await store.CollectGarbageAsync(ct).ConfigureAwait(false);
                // The first run is at start: what a crash left is removed then, and again at every run.
                var recovered = await store.RecoverBackendAsync(ct).ConfigureAwait(false);
                if (recovered.TempFilesDeleted + recovered.OrphanBodiesDeleted > 0)
                    log.LogInformation("Backend recovery: {Temp} temporary file(s) and {Orphans} unreferenced body file(s) of interrupted writes removed",
                        recovered.TempFilesDeleted, recovered.OrphanBodiesDeleted);
                if (collected > 0) log.LogInformation("Maintenance: {Collected} unreferenced blob(s) deleted", collected);
            }, stoppingToken).ConfigureAwait(false);
            if (_lifecycle.IsDue())
                await RunAsync(BackgroundLeases.Lifecycle, (_, ct) => _lifecycle.RunAsync(ct), stoppingToken).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>One job under its lease; its failure is logged and retried at the next interval, the other jobs still run.</summary>
    private async Task RunAsync(string job, Func<Lease, CancellationToken, Task> work, CancellationToken stoppingToken)
    {
        try
        {
            await leases.RunAsync(job, work, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            log.LogWarning("Maintenance job {Job} stopped: its lease passed to another instance or could not be renewed; the lease's holder carries on", job);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError(e, "Maintenance job {Job} failed; retrying at the next interval", job);
        }
    }
}
