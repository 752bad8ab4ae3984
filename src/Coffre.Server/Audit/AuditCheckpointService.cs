using Coffre.Kms;
using Coffre.Kms.Audit;
using Coffre.Server.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Coffre.Server.Audit;

/// <summary>
/// Signs and publishes an audit checkpoint at start and at every maintenance interval. Apart from
/// <see cref="MaintenanceService"/> so that a long rewrap or an unreachable backend there never delays a checkpoint:
/// an auditor treats a checkpoint older than two intervals as signing that stopped. Under its lease
/// (<see cref="BackgroundLeases.AuditCheckpoint"/>), so that of several instances on one database one signs per interval;
/// a stale holder needs no fence here, since checkpoints are numbered and a second one with the same number is refused.
/// </summary>
public sealed class AuditCheckpointService(AuditCheckpointPublisher publisher, BackgroundLeases leases, CoffreServerOptions options, TimeProvider time,
    ILogger<AuditCheckpointService> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.MaintenanceInterval, time);
        do
        {
            try
            {
                await leases.RunAsync(BackgroundLeases.AuditCheckpoint, async (_, ct) =>
                {
                    var (checkpoint, failed) = await publisher.CheckpointAsync(ct).ConfigureAwait(false);
                    foreach (var (sink, error) in failed)
                        log.LogWarning("Audit {Checkpoint} could not be published to {Sink} ({Error}); the next interval publishes a newer one",
                            checkpoint!.Label, sink, error.Message);
                }, stoppingToken).ConfigureAwait(false);
            }
            catch (KmsException e) when (e.Error == KmsError.Sealed)
            {
                log.LogWarning("No audit checkpoint while sealed (its signing key is sealed by the root); the first interval after the unseal signs one");
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                log.LogWarning("Audit checkpoint stopped: its lease passed to another instance or could not be renewed");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogError(e, "Signing the audit checkpoint failed; retrying at the next interval");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
