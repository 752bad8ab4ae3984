using Npgsql;

namespace Coffre.Postgres.Kms;

/// <summary>
/// Keeps this instance's view of the key store's generation current without a database round trip per operation:
/// every committed change sends <c>NOTIFY coffre_kms</c> in its transaction, and one connection per instance
/// LISTENs and reads the generation when notified. If that connection is lost (or a notification with it), the
/// generation is read every <see cref="PollInterval"/> anyway: a change made on another instance takes effect here
/// within that bound (milliseconds when notifications flow).
/// </summary>
internal sealed class PostgresGenerationWatcher : IAsyncDisposable
{
    public const string Channel = "coffre_kms";
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    private readonly NpgsqlDataSource _dataSource;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _generation;

    public PostgresGenerationWatcher(NpgsqlDataSource dataSource, long initial)
    {
        _dataSource = dataSource;
        _generation = initial;
        _loop = Task.Run(() => WatchAsync(_stop.Token));
    }

    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>Moves the generation forward (never back): a commit of this instance is visible here at once.</summary>
    public void Observe(long generation)
    {
        var seen = Interlocked.Read(ref _generation);
        while (generation > seen)
        {
            var before = Interlocked.CompareExchange(ref _generation, generation, seen);
            if (before == seen) return;
            seen = before;
        }
    }

    private async Task WatchAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var c = await _dataSource.OpenConnectionAsync(stop).ConfigureAwait(false);
                c.Notification += (_, _) => { }; // the read after WaitAsync picks the value up
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", c))
                    await listen.ExecuteNonQueryAsync(stop).ConfigureAwait(false);
                while (!stop.IsCancellationRequested)
                {
                    Observe(await ReadAsync(c, stop).ConfigureAwait(false));
                    await c.WaitAsync(PollInterval, stop).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException or System.Net.Sockets.SocketException)
            {
                // The database is unreachable: requests that need it fail on their own; try again after the poll interval.
                try
                {
                    await Task.Delay(PollInterval, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private static async Task<long> ReadAsync(NpgsqlConnection c, CancellationToken stop)
    {
        await using var cmd = new NpgsqlCommand("SELECT value FROM kms_generation WHERE id = 1", c);
        return (long)(await cmd.ExecuteScalarAsync(stop).ConfigureAwait(false))!;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
