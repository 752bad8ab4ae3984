using Coffre.Kms;
using Coffre.Kms.Audit;
using Coffre.Server.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Coffre.Server.Audit;

/// <summary>
/// Signs and publishes an audit checkpoint at start and at every maintenance interval. Apart from
/// <see cref="MaintenanceService"/> so that a long rewrap or an unreachable backend there never delays a checkpoint:
/// an auditor treats a checkpoint older than two intervals as signing that stopped.
/// </summary>
public sealed class AuditCheckpointService(AuditCheckpointPublisher publisher, CoffreServerOptions options, TimeProvider time, ILogger<AuditCheckpointService> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.MaintenanceInterval, time);
        do
        {
            try
            {
                var (checkpoint, failed) = await publisher.CheckpointAsync(stoppingToken).ConfigureAwait(false);
                foreach (var (sink, error) in failed)
                    log.LogWarning("Audit {Checkpoint} could not be published to {Sink} ({Error}); the next interval publishes a newer one",
                        checkpoint!.Label, sink, error.Message);
            }
            catch (KmsException e) when (e.Error == KmsError.Sealed)
            {
                log.LogWarning("No audit checkpoint while sealed (its signing key is sealed by the root); the first interval after the unseal signs one");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogError(e, "Signing the audit checkpoint failed; retrying at the next interval");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
