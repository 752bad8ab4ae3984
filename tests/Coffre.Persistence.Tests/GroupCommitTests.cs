using Coffre.Persistence;
using Coffre.TestSupport;
using Npgsql;

namespace Coffre.Persistence.Tests;

public sealed class GroupCommitTests
{
    [Fact]
    public async Task Every_caller_gets_its_own_result_only_after_the_commit_holding_its_work()
    {
        var committed = new HashSet<int>();
        var gate = new object();
        await using var commit = new GroupCommit<int, int>(async (batch, _) =>
        {
            await Task.Yield();
            for (var i = 0; i < batch.Count; i++) batch.Succeed(i, batch[i] * 2);
            lock (gate) for (var i = 0; i < batch.Count; i++) committed.Add(batch[i]);
        }, maxBatch: 16);

        var tasks = Enumerable.Range(0, 2000).Select(async n =>
        {
            var result = await commit.SubmitAsync(n);
            lock (gate) Assert.Contains(n, committed);
            return (n, result);
        }).ToArray();
        foreach (var (n, result) in await Task.WhenAll(tasks)) Assert.Equal(n * 2, result);
        var (commits, units) = commit.Statistics;
        Assert.Equal(2000, units);
        Assert.True(commits < 2000, $"{commits} commits for 2000 concurrent submissions: nothing was batched");
    }

    [Fact]
    public async Task Batches_respect_the_weight_limit_and_run_one_at_a_time()
    {
        var inFlight = 0;
        var maxWeightSeen = 0;
        await using var commit = new GroupCommit<int, bool>(async (batch, _) =>
        {
            Assert.Equal(1, Interlocked.Increment(ref inFlight));
            var weight = 0;
            for (var i = 0; i < batch.Count; i++) weight += batch[i];
            if (batch.Count > 1) maxWeightSeen = Math.Max(maxWeightSeen, weight);
            await Task.Delay(1);
            Interlocked.Decrement(ref inFlight);
        }, maxBatch: 10, weight: w => w);

        await Task.WhenAll(Enumerable.Range(0, 500).Select(i => commit.SubmitAsync(1 + i % 4)));
        Assert.InRange(maxWeightSeen, 0, 10);
        // A single piece heavier than the limit still commits, alone.
        await commit.SubmitAsync(50);
    }

    [Fact]
    public async Task A_piece_can_fail_alone_and_a_failed_commit_fails_every_caller_of_its_batch()
    {
        var failCommit = false;
        await using var commit = new GroupCommit<string, string>((batch, _) =>
        {
            if (failCommit) throw new IOException("disk full");
            for (var i = 0; i < batch.Count; i++)
            {
                if (batch[i] == "bad") batch.Fail(i, new InvalidOperationException("refused"));
                else batch.Succeed(i, batch[i].ToUpperInvariant());
            }
            return Task.CompletedTask;
        }, maxBatch: 8, describeFailure: e => new TimeoutException("commit failed", e));

        var good = commit.SubmitAsync("good");
        var bad = commit.SubmitAsync("bad");
        Assert.Equal("GOOD", await good);
        await Assert.ThrowsAsync<InvalidOperationException>(() => bad);

        failCommit = true;
        var a = commit.SubmitAsync("a");
        var b = commit.SubmitAsync("b");
        var ea = await Assert.ThrowsAsync<TimeoutException>(() => a);
        var eb = await Assert.ThrowsAsync<TimeoutException>(() => b);
        Assert.NotSame(ea, eb);
        Assert.IsType<IOException>(ea.InnerException);

        failCommit = false;
        Assert.Equal("C", await commit.SubmitAsync("c"));
    }

    [Fact]
    public async Task Dispose_commits_what_is_queued_and_refuses_new_work()
    {
        var release = new TaskCompletionSource();
        var commit = new GroupCommit<int, int>(async (batch, _) =>
        {
            await release.Task;
            for (var i = 0; i < batch.Count; i++) batch.Succeed(i, batch[i]);
        }, maxBatch: 4);
        var queued = Enumerable.Range(0, 10).Select(commit.SubmitAsync).ToArray();
        var disposing = commit.DisposeAsync().AsTask();
        Assert.Throws<ObjectDisposedException>(() => { _ = commit.SubmitAsync(99); });
        Assert.False(disposing.IsCompleted);
        release.SetResult();
        await disposing;
        Assert.Equal(Enumerable.Range(0, 10), await Task.WhenAll(queued));
    }

    [Fact]
    public async Task Waiters_hold_no_thread_while_a_commit_is_pending()
    {
        var release = new TaskCompletionSource();
        await using var commit = new GroupCommit<int, int>(async (batch, _) =>
        {
            await release.Task;
            for (var i = 0; i < batch.Count; i++) batch.Succeed(i, 1);
        }, maxBatch: 100_000);
        ThreadPool.GetMinThreads(out var minWorkers, out _);
        // Far more waiters than pool threads: if each blocked a thread, this would starve and never finish.
        var waiters = Enumerable.Range(0, 20 * Math.Max(minWorkers, Environment.ProcessorCount)).Select(commit.SubmitAsync).ToArray();
        var threadsBefore = ThreadPool.ThreadCount;
        await Task.Delay(200);
        Assert.True(ThreadPool.ThreadCount <= threadsBefore + 2, $"thread pool grew from {threadsBefore} to {ThreadPool.ThreadCount}");
        release.SetResult();
        Assert.All(await Task.WhenAll(waiters), r => Assert.Equal(1, r));
    }
}

public sealed class PostgresServerTests
{
    [Fact]
    public async Task The_test_server_gives_each_caller_a_fresh_database_over_password_authentication()
    {
        var first = await PostgresServer.CreateSharedDatabaseAsync();
        var second = await PostgresServer.CreateSharedDatabaseAsync();
        Assert.NotEqual(first, second);
        await using (var c = new NpgsqlConnection(first))
        {
            await c.OpenAsync();
            await using var create = new NpgsqlCommand("CREATE TABLE t (x int); INSERT INTO t VALUES (1)", c);
            await create.ExecuteNonQueryAsync();
        }
        await using (var c = new NpgsqlConnection(second))
        {
            await c.OpenAsync();
            await using var count = new NpgsqlCommand("SELECT count(*) FROM pg_tables WHERE tablename = 't'", c);
            Assert.Equal(0L, await count.ExecuteScalarAsync());
        }
        var wrong = new NpgsqlConnectionStringBuilder(first) { Password = "wrong" }.ConnectionString;
        await using var refused = new NpgsqlConnection(wrong);
        await Assert.ThrowsAsync<PostgresException>(() => refused.OpenAsync());
    }
}
