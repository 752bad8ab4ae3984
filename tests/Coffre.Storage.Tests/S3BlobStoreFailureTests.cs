using Coffre.TestSupport;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Coffre.Storage.Tests;

/// <summary>
/// An S3 backend that is down (nothing listening) or frozen (accepts, never answers): every operation fails as
/// <see cref="BlobStoreError.Unavailable"/> within its RequestTimeout, the SDK's retries included; the caller's own
/// cancellation stays a cancellation.
/// </summary>
public sealed class S3BlobStoreFailureTests
{
    private static S3BlobStore Store(int port) => new(new S3BlobStoreOptions
    {
        Endpoint = $"http://127.0.0.1:{port}", Bucket = "down", ForcePathStyle = true, AccessKeyId = "a", SecretAccessKey = "s",
        Timeout = TimeSpan.FromSeconds(30), RequestTimeout = TimeSpan.FromSeconds(2),
    });

    private static async Task AssertUnavailableAsync(Func<Task> call)
    {
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<BlobStoreException>(call);
        Assert.Equal(BlobStoreError.Unavailable, e.Error);
        // Deadline 2 s; without it, 4 attempts of 30 s.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"failed after {clock.Elapsed}");
    }

    [Fact]
    public async Task Every_operation_on_a_backend_with_nothing_listening_is_Unavailable()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var store = Store(port);
        await AssertUnavailableAsync(() => store.PutAsync("k", new MemoryStream([1, 2, 3]), 3, new Dictionary<string, string>()));
        await AssertUnavailableAsync(() => store.GetAsync("k"));
        await AssertUnavailableAsync(() => store.HeadAsync("k"));
        await AssertUnavailableAsync(() => store.DeleteAsync("k"));
        await AssertUnavailableAsync(async () => { await foreach (var _ in store.ListAsync()) { } });
    }

    [Fact]
    public async Task A_frozen_backend_is_Unavailable_after_the_deadline_and_a_caller_cancellation_stays_one()
    {
        await using var frozen = new FrozenTcpServer();
        using var store = Store(frozen.Port);
        await AssertUnavailableAsync(() => store.GetAsync("k"));
        using var caller = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.GetAsync("k", cancellationToken: caller.Token));
    }
}
