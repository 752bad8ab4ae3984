namespace Coffre.Server.Audit;

/// <summary>The "Coffre:Audit" section: where checkpoints are published outside keys.db.</summary>
public sealed class AuditOptions
{
    /// <summary>Publish every checkpoint to the storage backend as a write-once blob under <c>audit-checkpoints/</c>.</summary>
    public bool PublishToBackend { get; set; } = true;

    /// <summary>An append-only file (one JSON line per checkpoint) outside the data directory, e.g. one a SIEM collects; null: none.</summary>
    public string? CheckpointFile { get; set; }
}
