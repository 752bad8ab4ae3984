using Coffre.Kms;
using Coffre.Kms.Keys;
using Coffre.Objects;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Coffre.Server.Hosting;

/// <summary>Runs the periodic jobs, first at start: background repair of copies (<see cref="BackgroundRepair"/>, even sealed), due key rotations and destructions, rewrap to primary versions, deletion of unreferenced blobs, removal of interrupted writes' leftovers. (Audit checkpoints: <see cref="Audit.AuditCheckpointService"/>.)</summary>
public sealed class MaintenanceService(KeyManager keys, ObjectStore store, Rewrapper rewrapper, CoffreServerOptions options, TimeProvider time, ILogger<MaintenanceService> log,
    BackgroundRepair? repair = null)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.MaintenanceInterval, time);
        do
        {
            if (repair is not null)
            {
                try
                {
                    await repair.RunIfDueAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    log.LogError(e, "Background repair failed; retrying at the next interval");
                }
            }
            // Sealed: rotation, rewrap and checkpoints need keys; the next run after the unseal does them.
            if (keys.IsSealed) continue;
            try
            {
                var rotated = await keys.RotateDueKeysAsync(KeyManager.SystemPrincipal).ConfigureAwait(false);
                var destroyed = await keys.DestroyDueKeysAsync(KeyManager.SystemPrincipal).ConfigureAwait(false);
                // Objects follow their key to its primary version (after a rotation, scheduled or manual).
                var rewrap = await rewrapper.RunAsync(new RewrapRequest(ObjectsPerSecond: options.RewrapObjectsPerSecond),
                    KeyManager.SystemPrincipal, ct: stoppingToken).ConfigureAwait(false);
                if (rewrap.Rewrapped > 0) log.LogInformation("Rewrap: {Count} object(s) moved to their key's primary version", rewrap.Rewrapped);
                var collected = await store.CollectGarbageAsync(stoppingToken).ConfigureAwait(false);
                // The first run is at start: what a crash left is removed then, and again at every run.
                var recovered = await store.RecoverBackendAsync(stoppingToken).ConfigureAwait(false);
                if (recovered.TempFilesDeleted + recovered.OrphanBodiesDeleted > 0)
                    log.LogInformation("Backend recovery: {Temp} temporary file(s) and {Orphans} unreferenced body file(s) of interrupted writes removed",
                        recovered.TempFilesDeleted, recovered.OrphanBodiesDeleted);
                if (rotated + destroyed + collected > 0)
                    log.LogInformation("Maintenance: {Rotated} key(s) rotated, {Destroyed} destroyed, {Collected} unreferenced blob(s) deleted", rotated, destroyed, collected);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogError(e, "Maintenance run failed; retrying at the next interval");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
