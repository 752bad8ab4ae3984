using Coffre.Kms.Store;

namespace Coffre.Kms.Audit;

/// <summary>
/// Group commit for audit records of operations that change no state (data keys, Encrypt/Decrypt).
/// Callers enqueue their records and wait; the first waiting caller becomes the writer, commits
/// everything queued (up to <see cref="MaxBatch"/> records) in one transaction, releases those
/// callers, and hands the writer role on once its own records are durable. There is no timer:
/// an idle caller commits immediately; under load, batches form while the previous commit runs.
/// </summary>
internal sealed class GroupCommitAuditLog(IKeyStore store, int maxBatch)
{
    private sealed class Pending(IReadOnlyList<AuditEntry> entries)
    {
        public IReadOnlyList<AuditEntry> Entries { get; } = entries;
        public bool Done;
        public Exception? Error;
    }

    private readonly object _gate = new();
    private readonly Queue<Pending> _queue = new();
    private bool _writerActive;

    public int MaxBatch { get; } = Math.Max(1, maxBatch);

    /// <summary>Returns once the entries are committed, in order and together; throws
    /// <see cref="KmsException"/> (<see cref="KmsError.AuditUnavailable"/>) if they are not.</summary>
    public void Append(params AuditEntry[] entries)
    {
        var mine = new Pending(entries);
        List<Pending> batch;
        lock (_gate)
        {
            _queue.Enqueue(mine);
            while (!mine.Done && _writerActive)
                Monitor.Wait(_gate);
            if (mine.Done)
            {
                if (mine.Error is not null) throw Rethrow(mine.Error);
                return;
            }
            _writerActive = true;
            batch = TakeBatch();
        }

        while (true)
        {
            Exception? error = null;
            try
            {
                var all = new List<AuditEntry>(batch.Sum(p => p.Entries.Count));
                foreach (var p in batch) all.AddRange(p.Entries);
                store.AppendAudit(all);
            }
            catch (Exception e)
            {
                error = e;
            }
            lock (_gate)
            {
                foreach (var p in batch)
                {
                    p.Error = error;
                    p.Done = true;
                }
                if (mine.Done || _queue.Count == 0)
                {
                    _writerActive = false;
                    Monitor.PulseAll(_gate);
                    if (mine.Error is not null) throw Rethrow(mine.Error);
                    return;
                }
                Monitor.PulseAll(_gate);
                batch = TakeBatch();
            }
        }
    }

    private List<Pending> TakeBatch()
    {
        var batch = new List<Pending>();
        var count = 0;
        while (_queue.Count > 0 && (batch.Count == 0 || count + _queue.Peek().Entries.Count <= MaxBatch))
        {
            var p = _queue.Dequeue();
            batch.Add(p);
            count += p.Entries.Count;
        }
        return batch;
    }

    // A fresh exception per waiter: one instance thrown on several threads would share a stack trace.
    private static KmsException Rethrow(Exception e) =>
        new(KmsError.AuditUnavailable, "The audit trail could not be written, so the operation was refused (no audit, no answer). Check the key store's disk and permissions.", e);
}
