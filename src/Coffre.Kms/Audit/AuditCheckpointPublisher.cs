namespace Coffre.Kms.Audit;

/// <summary>
/// Signs a checkpoint and publishes it to every sink. A sink that fails is reported and counted, never retried on the
/// spot: the next checkpoint (one maintenance interval later) supersedes this one, since it is chained to it, and is
/// published to every sink again. Publication never stands between a caller and its key.
/// </summary>
public sealed class AuditCheckpointPublisher(AuditCheckpointer checkpointer, IReadOnlyList<IAuditCheckpointSink> sinks)
{
    private long _published;
    private long _failures;

    public IReadOnlyList<IAuditCheckpointSink> Sinks => sinks;

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
                await sink.PublishAsync(checkpoint, cancellationToken).ConfigureAwait(false);
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
}
