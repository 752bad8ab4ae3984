namespace Coffre.Kms.Audit;

/// <summary>A checkpoint as published outside keys.db, with the public key that signed it, so that each copy can be checked alone.</summary>
public sealed record PublishedCheckpoint(AuditCheckpoint Checkpoint, byte[] PublicKey);

/// <summary>
/// A place outside keys.db where chained checkpoints are published (a storage backend, an append-only file) and
/// read back by an auditor. A copy there is what shows records and checkpoints removed from keys.db after it.
/// </summary>
public interface IAuditCheckpointSink
{
    /// <summary>How findings and logs name it (never a secret), e.g. "backend 's3-gra' (bucket ...)" or "file /var/log/...".</summary>
    string Name { get; }

    /// <summary>Publishes a checkpoint; publishing the same one again is harmless. Throws when it could not.</summary>
    Task PublishAsync(PublishedCheckpoint checkpoint, CancellationToken cancellationToken);

    /// <summary>The published checkpoint with the highest number, or null when none is published here. Throws when it cannot be read.</summary>
    Task<PublishedCheckpoint?> ReadNewestAsync(CancellationToken cancellationToken);
}
