using Coffre.Objects.Catalog;
using Coffre.Objects.Placement;
using Coffre.Storage.Placement;
using Microsoft.Extensions.Logging;

namespace Coffre.Server.Hosting;

/// <summary>
/// `coffre repair` in the background: from the maintenance service, a pass over every bucket once per
/// <c>Coffre:RepairInterval</c> (off when zero), so that copies a provider lost or damaged are rewritten without an
/// operator. It needs no key, so it runs sealed too. Its counters are exported at /metrics. Like `coffre repair`
/// without --from-record, it reads every copy (<see cref="CatalogRepair"/>): only a read finds a copy a provider lost or
/// damaged behind Coffre's back, and this pass has its whole interval to spread that cost over.
/// </summary>
public sealed class BackgroundRepair(IObjectCatalog catalog, PlacementBlobStore store, CoffreServerOptions options, TimeProvider time,
    ILogger<BackgroundRepair> log)
{
    private readonly CatalogRepair _repair = new(catalog, store, time, verify: true);
    private DateTimeOffset? _lastPass;
    private long _passes, _objects, _rewritten, _problems, _unreachable;

    public long Passes => Interlocked.Read(ref _passes);
    public long ObjectsChecked => Interlocked.Read(ref _objects);
    public long CopiesRewritten => Interlocked.Read(ref _rewritten);
    /// <summary>Blobs the last pass could not repair (no good copy, or copies disagreeing).</summary>
    public long LastPassProblems => Interlocked.Read(ref _problems);
    /// <summary>Blob checks of the last pass that found a backend unreachable.</summary>
    public long LastPassUnreachable => Interlocked.Read(ref _unreachable);

    /// <summary>Runs a pass when the interval has elapsed since the last one (the first at start).</summary>
    public async Task RunIfDueAsync(CancellationToken ct)
    {
        if (options.RepairInterval <= TimeSpan.Zero) return;
        var now = time.GetUtcNow();
        if (_lastPass is { } last && now - last < options.RepairInterval) return;
        _lastPass = now;
        long rewritten = 0, problems = 0, unreachable = 0;
        foreach (var bucket in await catalog.ListBucketsAsync(ct).ConfigureAwait(false))
        {
            var cursor = VersionCursor.After(null);
            bool more;
            do
            {
                (cursor, more) = await _repair.RepairPageAsync(bucket.Name, cursor, (record, outcomes) =>
                {
                    Interlocked.Increment(ref _objects);
                    foreach (var outcome in outcomes)
                    {
                        rewritten += outcome.Rewritten.Count;
                        if (outcome.Problem is not null)
                        {
                            problems++;
                            log.LogWarning("Repair: {Bucket}/{Object} ({Blob}) not repaired: {Problem}", bucket.Name, record.Name, outcome.Key, outcome.Problem);
                        }
                        if (outcome.Unreachable.Count > 0) unreachable++;
                    }
                }, ct).ConfigureAwait(false);
            }
            while (more);
        }
        Interlocked.Add(ref _rewritten, rewritten);
        Interlocked.Exchange(ref _problems, problems);
        Interlocked.Exchange(ref _unreachable, unreachable);
        Interlocked.Increment(ref _passes);
        if (rewritten + problems + unreachable > 0)
            log.LogInformation("Repair: {Rewritten} copie(s) rewritten, {Problems} blob(s) not repairable, {Unreachable} check(s) with a backend unreachable",
                rewritten, problems, unreachable);
    }
}
