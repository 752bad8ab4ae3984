using Coffre.Storage.Placement;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Coffre.Server.Hosting;

/// <summary>
/// Reads the bucket placement states (`coffre migrate`) before the server takes requests, then every
/// <see cref="MigrationStates.RefreshBound"/>: a migration started by another process makes this server write to both
/// sides within that bound, which the migration waits out before it relies on it.
/// </summary>
public sealed class PlacementStateRefresher(PlacementBlobStore store, IPlacementStateStore states, TimeProvider time, ILogger<PlacementStateRefresher> log)
    : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        store.Placement.Apply(await states.ListAsync(cancellationToken).ConfigureAwait(false));
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>At shutdown, the copies recorded by the last writes reach the catalog before the process ends.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (store.Copies is { } copies) await copies.FlushAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(MigrationStates.RefreshBound, time);
        var failing = false;
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                store.Placement.Apply(await states.ListAsync(stoppingToken).ConfigureAwait(false));
                failing = false;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The last states read stay in force; one message per outage, not one per second.
                if (!failing) log.LogError(e, "Reading the bucket placement states failed; retrying every {Bound}", MigrationStates.RefreshBound);
                failing = true;
            }
        }
    }
}
