using System.Collections.Concurrent;

namespace Coffre.Persistence;

/// <summary>
/// One dedicated thread for a database's blocking writes (SQLite has no asynchronous I/O: a commit holds its thread for
/// the fsync). Work is queued and run in order on this thread; the caller gets a task completed when it has run, so
/// neither the caller nor anyone awaiting holds a thread-pool thread meanwhile.
/// </summary>
/// <remarks>
/// Why not the thread pool: a commit blocked in fsync takes a pool thread away from the requests, and on a small
/// machine the pool injects replacements slowly (the suspected cause of the "SQLite PUT+GET regression" of
/// docs/benchmarks.md; on a saturated host the change measured the same within noise, see "SQLite writes on a
/// thread of their own" there). Why one
/// thread: a database has one writer at a time anyway (SQLite's write lock; the group commit runs one batch at a time),
/// so a second thread would only wait. Reads stay on the caller's thread: WAL lets them run concurrently with the
/// writer, and they are served from the page cache.
/// </remarks>
public sealed class BlockingIoThread : IDisposable
{
    private readonly BlockingCollection<Action> _queue = [];
    private readonly Thread _thread;
    private int _disposed;

    /// <param name="name">The thread's name, as debuggers and dumps show it (e.g. "coffre catalog.db writer").</param>
    public BlockingIoThread(string name)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Runs <paramref name="work"/> on the thread, after everything queued before it; the task carries its
    /// result or exception, and its continuations run on the thread pool, never on this thread.</summary>
    public Task<T> RunAsync<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _queue.Add(() =>
        {
            try
            {
                done.SetResult(work());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        });
        return done.Task;
    }

    private void Run()
    {
        foreach (var work in _queue.GetConsumingEnumerable()) work();
    }

    /// <summary>Runs what is queued, then ends the thread.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _queue.CompleteAdding();
        _thread.Join();
        _queue.Dispose();
    }
}
