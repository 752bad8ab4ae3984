using Coffre.Persistence;

namespace Coffre.Kms.Audit;

/// <summary>
/// Group commit of audit records for operations that change no state (data keys, Encrypt/Decrypt, reads): callers
/// await <see cref="AppendAsync"/>; the one group-commit primitive (<see cref="GroupCommit{TWork,TResult}"/>) hands
/// everything queued (up to <see cref="MaxBatch"/> records) to the audit log as one append, one transaction, and
/// completes each caller's task after that commit. Waiters hold no thread; there is no timer: a commit starts as soon
/// as a record is queued and none is running, and under load batches form while the previous commit runs.
/// </summary>
internal sealed class GroupCommitAuditLog : IAsyncDisposable
{
    private const string UnavailableMessage =
        "The audit trail could not be written, so the operation was refused (no audit, no answer). Check the key store's database, disk and permissions.";

    private readonly IAuditLog _log;
    private readonly GroupCommit<AuditEntry[], bool> _commit;
    // Only the drain loop touches it, one batch at a time.
    private readonly List<AuditEntry> _batch = [];

    public GroupCommitAuditLog(IAuditLog log, int maxBatch)
    {
        _log = log;
        _commit = new GroupCommit<AuditEntry[], bool>(CommitAsync, maxBatch, entries => entries.Length, Unavailable);
    }

    public int MaxBatch => _commit.MaxBatch;

    /// <summary>Group commits done and records they wrote (their ratio is the mean batch size).</summary>
    public (long Commits, long Records) Statistics => _commit.Statistics;

    /// <summary>Completes once the entries are committed, in order and together; faults with
    /// <see cref="KmsException"/> (<see cref="KmsError.AuditUnavailable"/>) if they are not.</summary>
    public Task AppendAsync(params AuditEntry[] entries)
    {
        try
        {
            return _commit.SubmitAsync(entries);
        }
        catch (ObjectDisposedException e)
        {
            return Task.FromException(Unavailable(e));
        }
    }

    private async Task CommitAsync(GroupCommitBatch<AuditEntry[], bool> batch, CancellationToken cancellationToken)
    {
        _batch.Clear();
        for (var i = 0; i < batch.Count; i++) _batch.AddRange(batch[i]);
        await _log.AppendAsync(_batch, cancellationToken).ConfigureAwait(false);
    }

    // A fresh exception per waiter (the primitive calls this once per caller): one instance thrown on several
    // threads would share a stack trace.
    private static KmsException Unavailable(Exception e) => e is KmsException { Error: KmsError.AuditUnavailable } k
        ? new KmsException(KmsError.AuditUnavailable, k.Message, k)
        : new KmsException(KmsError.AuditUnavailable, UnavailableMessage, e);

    /// <summary>Commits what is queued, then refuses more.</summary>
    public ValueTask DisposeAsync() => _commit.DisposeAsync();
}
