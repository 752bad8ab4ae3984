using System.Threading.Channels;

namespace Coffre.Storage.Placement;

/// <summary>
/// Records blob copies in an <see cref="IBlobCopyStore"/> off the request path: a write enqueues its change and goes
/// on; one loop applies whatever has queued up as one transaction. So a PUT costs no extra database commit of its own
/// (under load, hundreds of writes share one), and a process that dies loses at most the last batch, which the next
/// `coffre repair` pass records again (it checks every copy and states what it found). Reasons in docs/architecture.md.
/// </summary>
public sealed class BlobCopyLedger : IAsyncDisposable
{
    /// <summary>Changes applied in one transaction at most (bounds its size and the time the writer holds the database).</summary>
    private const int MaxBatch = 1000;

    private readonly IBlobCopyStore _store;
    private readonly Channel<object> _queue = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;
    private long _failures;

    public BlobCopyLedger(IBlobCopyStore store)
    {
        _store = store;
        _loop = Task.Run(RunAsync);
    }

    public IBlobCopyStore Store => _store;

    /// <summary>Batches that could not be written (the database was unreachable); repair records those copies again.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>The last failure's message, for logs and /healthz (no secret: a database error).</summary>
    public string? LastFailure { get; private set; }

    public void Record(BlobCopyChange change) => _queue.Writer.TryWrite(change);

    public void Record(IEnumerable<BlobCopyChange> changes)
    {
        foreach (var change in changes) _queue.Writer.TryWrite(change);
    }

    /// <summary>Completes once every change recorded before the call is applied (or failed): for commands that end, and tests.</summary>
    public Task FlushAsync()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite(done)) done.SetResult();
        return done.Task;
    }

    private async Task RunAsync()
    {
        var batch = new List<BlobCopyChange>();
        var flushes = new List<TaskCompletionSource>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item))
                if (item is BlobCopyChange change) batch.Add(change);
                else flushes.Add((TaskCompletionSource)item);
            if (batch.Count > 0)
            {
                try
                {
                    await _store.ApplyAsync(batch, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    // Never fail or slow a write for its record: repair sets the record right from the backends.
                    Interlocked.Increment(ref _failures);
                    LastFailure = e.Message;
                }
                batch.Clear();
            }
            foreach (var flush in flushes) flush.SetResult();
            flushes.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }
}
