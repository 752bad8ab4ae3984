using Microsoft.Data.Sqlite;

namespace Coffre.Objects.Catalog;

/// <summary>
/// Group commit for SQLite writes: concurrent writers queue their work, one of them (the leader)
/// runs a batch in a single transaction, each piece under its own savepoint, and commits once —
/// one fsync for many objects. Every caller returns only after the commit that holds its write,
/// so durability is unchanged; a failing piece fails its caller alone. Leadership passes to the
/// oldest waiting writer after each batch, so no caller waits behind an endless stream of others.
/// </summary>
internal sealed class GroupCommit(Func<SqliteConnection> open, int maxBatch = 256)
{
    private readonly object _gate = new();
    private readonly Queue<Pending> _queue = new();
    private bool _leaderActive;

    public T Run<T>(Func<SqliteConnection, SqliteTransaction, T> work)
    {
        var pending = new Pending((c, t) => work(c, t));
        lock (_gate)
        {
            _queue.Enqueue(pending);
            if (!_leaderActive)
            {
                _leaderActive = true;
                pending.IsLeader = true;
            }
        }
        while (true)
        {
            if (pending.IsLeader && !pending.Done)
                Lead();
            pending.Signal.Wait();
            pending.Signal.Reset();
            if (pending.Done) break;
        }
        if (pending.Error is not null) throw pending.Error;
        return (T)pending.Result!;
    }

    private void Lead()
    {
        List<Pending> batch;
        lock (_gate)
        {
            batch = new List<Pending>(Math.Min(_queue.Count, maxBatch));
            while (_queue.Count > 0 && batch.Count < maxBatch) batch.Add(_queue.Dequeue());
        }
        Execute(batch);
        Pending? next = null;
        lock (_gate)
        {
            if (_queue.Count > 0)
            {
                next = _queue.Peek();
                next.IsLeader = true;
            }
            else
            {
                _leaderActive = false;
            }
        }
        foreach (var p in batch)
        {
            p.Done = true;
            p.Signal.Set();
        }
        next?.Signal.Set();
    }

    private void Execute(List<Pending> batch)
    {
        try
        {
            using var c = open();
            using var tx = c.BeginTransaction(deferred: false);
            for (var i = 0; i < batch.Count; i++)
            {
                var p = batch[i];
                Exec(c, tx, "SAVEPOINT w");
                try
                {
                    p.Result = p.Work(c, tx);
                    Exec(c, tx, "RELEASE w");
                }
                catch (Exception e)
                {
                    p.Error = e;
                    Exec(c, tx, "ROLLBACK TO w");
                    Exec(c, tx, "RELEASE w");
                }
            }
            tx.Commit();
        }
        catch (Exception e)
        {
            foreach (var p in batch) p.Error ??= e;
        }
    }

    private static void Exec(SqliteConnection c, SqliteTransaction tx, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private sealed class Pending(Func<SqliteConnection, SqliteTransaction, object?> work)
    {
        public readonly ManualResetEventSlim Signal = new(false);
        public Func<SqliteConnection, SqliteTransaction, object?> Work { get; } = work;
        public volatile bool IsLeader;
        public volatile bool Done;
        public object? Result;
        public Exception? Error;
    }
}
