namespace Coffre.Persistence;

/// <summary>
/// Group commit: concurrent callers submit work and await it; one asynchronous drain loop takes
/// what is queued (up to <see cref="MaxBatch"/> units of weight), hands it to the batch-commit
/// delegate as one <see cref="GroupCommitBatch{TWork,TResult}"/>, and completes each caller's task
/// only after that delegate returns — that is, after the commit that holds the caller's work. One
/// fsync (or one database round trip) then serves many callers, and durability is unchanged.
/// </summary>
/// <remarks>
/// Why this shape: waiters hold no thread (each has its own task, completed asynchronously), so
/// thousands of concurrent requests cost no thread-pool threads and no pool minimum needs raising;
/// there is no timer, so an idle system commits at once and batches only form while a previous
/// commit is running; at most one batch is in flight, so batches commit in submission order.
/// A piece of work can fail alone (<see cref="GroupCommitBatch{TWork,TResult}.Fail"/>, e.g. a
/// savepoint rolled back); if the delegate throws, every unfinished caller of the batch fails.
/// </remarks>
public sealed class GroupCommit<TWork, TResult> : IAsyncDisposable
{
    private readonly Func<GroupCommitBatch<TWork, TResult>, CancellationToken, Task> _commit;
    private readonly Func<TWork, int> _weight;
    private readonly Func<Exception, Exception> _describeFailure;
    private readonly object _gate = new();
    private readonly Queue<GroupCommitEntry<TWork, TResult>> _queue = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task _drain = Task.CompletedTask;
    private bool _draining;
    private bool _disposed;
    private long _commits;
    private long _units;

    /// <param name="commit">Commits one batch durably; sets each entry's result or failure. Called by
    /// one loop at a time, never concurrently with itself.</param>
    /// <param name="maxBatch">Most units of weight per batch (a single heavier piece still goes alone).</param>
    /// <param name="weight">Weight of a piece of work (default 1), e.g. the number of records it appends.</param>
    /// <param name="describeFailure">Turns the delegate's exception into the exception each caller sees
    /// (called once per caller, so callers on different threads never share one exception object).</param>
    public GroupCommit(
        Func<GroupCommitBatch<TWork, TResult>, CancellationToken, Task> commit,
        int maxBatch,
        Func<TWork, int>? weight = null,
        Func<Exception, Exception>? describeFailure = null)
    {
        ArgumentNullException.ThrowIfNull(commit);
        _commit = commit;
        MaxBatch = Math.Max(1, maxBatch);
        _weight = weight ?? (_ => 1);
        _describeFailure = describeFailure ?? (e => e);
    }

    public int MaxBatch { get; }

    /// <summary>Batches committed and units of weight they carried (their ratio is the mean batch size).</summary>
    public (long Commits, long Units) Statistics => (Interlocked.Read(ref _commits), Interlocked.Read(ref _units));

    /// <summary>Completes with the work's result once the batch holding it is committed; faults with the
    /// work's own failure or the commit's. Throws <see cref="ObjectDisposedException"/> once disposal began.</summary>
    public Task<TResult> SubmitAsync(TWork work)
    {
        var entry = new GroupCommitEntry<TWork, TResult>(work, _weight(work));
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _queue.Enqueue(entry);
            if (!_draining)
            {
                _draining = true;
                // Task.Run: the caller's thread goes back to its own work instead of running the commit.
                _drain = Task.Run(DrainAsync);
            }
        }
        return entry.Task;
    }

    private async Task DrainAsync()
    {
        var batch = new GroupCommitBatch<TWork, TResult>();
        while (true)
        {
            batch.Entries.Clear();
            lock (_gate)
            {
                if (_queue.Count == 0)
                {
                    _draining = false;
                    return;
                }
                var units = 0;
                while (_queue.Count > 0 && (batch.Entries.Count == 0 || units + _queue.Peek().Weight <= MaxBatch))
                {
                    var e = _queue.Dequeue();
                    batch.Entries.Add(e);
                    units += e.Weight;
                }
            }
            Exception? failure = null;
            try
            {
                await _commit(batch, _stopping.Token).ConfigureAwait(false);
                Interlocked.Increment(ref _commits);
                foreach (var e in batch.Entries) Interlocked.Add(ref _units, e.Weight);
            }
            catch (Exception e)
            {
                failure = e;
            }
            foreach (var e in batch.Entries)
            {
                if (failure is not null) e.TrySetException(_describeFailure(failure));
                else e.Complete();
            }
        }
    }

    /// <summary>Refuses new work, lets everything already queued commit, then returns.</summary>
    public async ValueTask DisposeAsync()
    {
        Task drain;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            drain = _drain;
        }
        await drain.ConfigureAwait(false);
        _stopping.Dispose();
    }
}

/// <summary>The work of one group commit, handed to the commit delegate.</summary>
public sealed class GroupCommitBatch<TWork, TResult>
{
    internal List<GroupCommitEntry<TWork, TResult>> Entries { get; } = [];

    public int Count => Entries.Count;

    public TWork this[int index] => Entries[index].Work;

    /// <summary>Records the result of piece <paramref name="index"/>, released to its caller after the commit.</summary>
    public void Succeed(int index, TResult result) => Entries[index].Result = result;

    /// <summary>Fails piece <paramref name="index"/> alone (its changes must have been rolled back); the
    /// others still commit.</summary>
    public void Fail(int index, Exception error) => Entries[index].Error = error;
}

internal sealed class GroupCommitEntry<TWork, TResult>(TWork work, int weight)
    : TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously)
{
    public TWork Work { get; } = work;
    public int Weight { get; } = weight;
    public TResult? Result { get; set; }
    public Exception? Error { get; set; }

    public void Complete()
    {
        if (Error is not null) TrySetException(Error);
        else TrySetResult(Result!);
    }
}
