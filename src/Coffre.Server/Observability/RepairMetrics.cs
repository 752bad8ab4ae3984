using Coffre.Server.Hosting;

namespace Coffre.Server.Observability;

/// <summary>The background repair's series at /metrics (placement only).</summary>
public static class RepairMetrics
{
    public static void Declare(Metrics metrics, BackgroundRepair repair)
    {
        metrics.AddCounter("coffre_repair_passes_total", "Background repair passes over every bucket.", () => repair.Passes);
        metrics.AddCounter("coffre_repair_objects_checked_total", "Objects whose copies background repair checked.", () => repair.ObjectsChecked);
        metrics.AddCounter("coffre_repair_copies_rewritten_total", "Missing or damaged copies background repair rewrote.", () => repair.CopiesRewritten);
        metrics.AddGauge("coffre_repair_unrepairable_blobs", "Blobs the last background repair pass could not repair (no good copy, or copies disagreeing).",
            () => repair.LastPassProblems);
        metrics.AddGauge("coffre_repair_unreachable_checks", "Blob checks of the last background repair pass that found a backend unreachable.",
            () => repair.LastPassUnreachable);
    }
}
