using System.Globalization;
using System.Text;
using Coffre.Storage;
using Coffre.Storage.Placement;
using Microsoft.AspNetCore.Http;

namespace Coffre.Server.Observability;

/// <summary>
/// Per-backend health of the placement layer at /healthz and /metrics. Without placement (one backend as before),
/// /healthz answers "ok" alone and no series are added.
/// </summary>
public static class BackendHealthReport
{
    /// <summary>
    /// 200 with "ok", one line per database (<see cref="DatabaseHealth"/>) and one per backend while every one answers;
    /// "degraded" (still 200: reads fail over and buckets whose copies are all healthy still take writes) when a backend
    /// failed its last call; 503 "unavailable" when a database is unreachable (nearly every request needs both). A
    /// backend's or database's error is not shown here: /healthz is unauthenticated, and `coffre backends check` and
    /// the server's log give the details.
    /// </summary>
    public static async Task<IResult> HealthzAsync(IBlobStore blobs, DatabaseHealth databases, CancellationToken ct)
    {
        var (databaseLines, reachable) = await databases.CheckAsync(ct).ConfigureAwait(false);
        var statuses = blobs is PlacementBlobStore placement ? placement.Health.Backends.Select(placement.Health.Status).ToList() : [];
        var text = new StringBuilder(!reachable ? "unavailable\n" : statuses.All(s => s.Healthy) ? "ok\n" : "degraded\n");
        foreach (var line in databaseLines) text.Append(line).Append('\n');
        foreach (var s in statuses)
            text.Append(CultureInfo.InvariantCulture, $"backend {s.Backend} {(s.Healthy ? "healthy" : "unhealthy")}\n");
        return Results.Text(text.ToString(), statusCode: reachable ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    public static void Declare(Metrics metrics, IBlobStore blobs)
    {
        if (blobs is not PlacementBlobStore placement) return;
        var names = placement.Health.Backends.ToList();
        metrics.AddLabeled("gauge", "coffre_backend_up", "1 when the backend's last call succeeded, 0 when it failed.", "backend", names,
            b => placement.Health.Status(b).Healthy ? 1 : 0);
        metrics.AddLabeled("counter", "coffre_backend_failures_total", "Calls to the backend that failed (unreachable, timed out, server error, refused).",
            "backend", names, b => placement.Health.Status(b).Failures);
        metrics.AddLabeled("gauge", "coffre_backend_latency_seconds", "Moving average of the backend's recent call latencies.", "backend", names,
            b => placement.Health.Status(b).LatencyMs / 1000);
    }
}
