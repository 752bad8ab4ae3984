using Coffre.Kms.Store;

namespace Coffre.Kms.Audit;

/// <summary>
/// Group commit for audit records of operations that change no state (data keys, Encrypt/Decrypt).
/// Callers enqueue their records and wait (synchronously, or asynchronously with
/// <see cref="AppendAsync"/>); one writer thread commits everything queued (up to
/// <see cref="MaxBatch"/> records) in one transaction and then releases exactly those callers. There is
/// no timer: the writer starts a commit as soon as a record is queued and it is idle; under load,
/// batches form while the previous commit runs (its fsync, at synchronous=FULL).
/// </summary>
/// <remarks>
/// Each waiter is released individually (its own task) rather than by waking every waiter on each
/// commit, and asynchronous callers hold no thread while they wait: with many concurrent callers the
/// cost per record stays flat.
/// </remarks>
internal sealed class GroupCommitAuditLog(IKeyStore store, int maxBatch) : IDisposable
{
    private sealed class Pending(AuditEntry[] entries) : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public AuditEntry[] Entries { get; } = entries;
    }

    private readonly object _gate = new();
    private readonly Queue<Pending> _queue = new();
    private Thread? _writer;
    private bool _idle;
    private bool _stopping;

    private long _commits;
    private long _records;

    public int MaxBatch { get; } = Math.Max(1, maxBatch);

    /// <summary>Group commits done and records they wrote (their ratio is the mean batch size).</summary>
    public (long Commits, long Records) Statistics => (Interlocked.Read(ref _commits), Interlocked.Read(ref _records));

    /// <summary>Returns once the entries are committed, in order and together; throws
    /// <see cref="KmsException"/> (<see cref="KmsError.AuditUnavailable"/>) if they are not.</summary>
    public void Append(params AuditEntry[] entries) => AppendAsync(entries).GetAwaiter().GetResult();

    /// <summary>Completes once the entries are committed, in order and together; faults with
    /// <see cref="KmsException"/> (<see cref="KmsError.AuditUnavailable"/>) if they are not.</summary>
    public Task AppendAsync(params AuditEntry[] entries)
    {
        var mine = new Pending(entries);
        lock (_gate)
        {
            if (_stopping) throw Unavailable(new ObjectDisposedException(nameof(GroupCommitAuditLog)));
            _queue.Enqueue(mine);
            if (_writer is null)
            {
                _writer = new Thread(WriterLoop) { IsBackground = true, Name = "coffre-audit-writer" };
                _writer.Start();
            }
            else if (_idle)
            {
                Monitor.Pulse(_gate);
            }
        }
        return mine.Task;
    }

    private void WriterLoop()
    {
        var all = new List<AuditEntry>(MaxBatch);
        while (true)
        {
            List<Pending> batch;
            lock (_gate)
            {
                while (_queue.Count == 0 && !_stopping)
                {
                    _idle = true;
                    Monitor.Wait(_gate);
                    _idle = false;
                }
                if (_queue.Count == 0) return;
                batch = TakeBatch();
            }
            Exception? error = null;
            try
            {
                all.Clear();
                foreach (var p in batch) all.AddRange(p.Entries);
                store.AppendAudit(all);
                Interlocked.Increment(ref _commits);
                Interlocked.Add(ref _records, all.Count);
            }
            catch (Exception e)
            {
                error = e;
            }
            foreach (var p in batch)
            {
                // A fresh exception per waiter: one instance thrown on several threads would share a stack trace.
                if (error is null) p.TrySetResult();
                else p.TrySetException(Unavailable(error));
            }
        }
    }

    private List<Pending> TakeBatch()
    {
        var batch = new List<Pending>();
        var count = 0;
        while (_queue.Count > 0 && (batch.Count == 0 || count + _queue.Peek().Entries.Length <= MaxBatch))
        {
            var p = _queue.Dequeue();
            batch.Add(p);
            count += p.Entries.Length;
        }
        return batch;
    }

    private static KmsException Unavailable(Exception e) =>
        new(KmsError.AuditUnavailable, "The audit trail could not be written, so the operation was refused (no audit, no answer). Check the key store's disk and permissions.", e);

    /// <summary>Commits what is queued, then stops the writer.</summary>
    public void Dispose()
    {
        Thread? writer;
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
            writer = _writer;
        }
        writer?.Join();
    }
}
