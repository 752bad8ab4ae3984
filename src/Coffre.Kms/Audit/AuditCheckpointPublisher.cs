namespace Coffre.Kms.Audit;

/// <summary>
/// Signs a checkpoint and publishes it to every sink. A sink that fails is reported and counted, never retried on the
/// spot: the next checkpoint (one maintenance interval later) supersedes this one, since it is chained to it, and is
/// published to every sink again. Publication never stands between a caller and its key.
/// </summary>
public sealed class AuditCheckpointPublisher(AuditCheckpointer checkpointer, IReadOnlyList<IAuditCheckpointSink> sinks)
{
    private readonly Dictionary<IAuditCheckpointSink, PublishedCheckpoint?> _lastPublished = new(); // one publisher run at a time
    private long _published;
    private long _failures;

    /// <summary>Checkpoint copies written to a sink since start.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Checkpoint copies that could not be written since start.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Signs the next checkpoint (null when the trail is empty) and publishes it; returns it with the sinks that failed, and why.</summary>
    public async Task<(AuditCheckpoint? Checkpoint, IReadOnlyList<(string Sink, Exception Error)> Failed)> CheckpointAsync(CancellationToken cancellationToken)
    {
        if (checkpointer.Write() is not { } checkpoint) return (null, []);
        return (checkpoint, await PublishAsync(new PublishedCheckpoint(checkpoint, checkpointer.PublicKey()!), cancellationToken).ConfigureAwait(false));
    }

    private async Task<IReadOnlyList<(string Sink, Exception Error)>> PublishAsync(PublishedCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        var failed = new List<(string, Exception)>();
        foreach (var sink in sinks)
        {
            try
            {
                await RefuseForkAsync(sink, cancellationToken).ConfigureAwait(false);
                await sink.PublishAsync(checkpoint, cancellationToken).ConfigureAwait(false);
                _lastPublished[sink] = checkpoint;
                Interlocked.Increment(ref _published);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Interlocked.Increment(ref _failures);
                failed.Add((sink.Name, e));
            }
        }
        return failed;
    }

    /// <summary>
    /// Refuses to publish when the sink's newest checkpoint is not in keys.db's chain: the chain was cut (truncated, or
    /// restored from a backup) and grew again. Publishing the new branch would, once its numbers pass the old ones, put
    /// it on top of the old branch and hide the cut from `audit verify`; refused, the old branch stays the newest copy.
    /// </summary>
    private async Task RefuseForkAsync(IAuditCheckpointSink sink, CancellationToken cancellationToken)
    {
        if (!_lastPublished.TryGetValue(sink, out var last))
            _lastPublished[sink] = last = await sink.ReadNewestAsync(cancellationToken).ConfigureAwait(false); // once per sink and process
        if (last is null) return;
        var mine = checkpointer.Store.Chained(last.Checkpoint.Number);
        if (mine is null || !mine.Digest().AsSpan().SequenceEqual(last.Checkpoint.Digest()))
            throw new InvalidOperationException($"{sink.Name} holds {last.Checkpoint.Label} (record #{last.Checkpoint.Sequence}), which is not in " +
                "the chain of checkpoints in keys.db: that chain was cut (truncated, or keys.db restored from a backup). Publishing stays refused so " +
                "that the cut stays visible; run `coffre audit verify`, then archive the published copies to publish again (docs/operations.md).");
    }
}
