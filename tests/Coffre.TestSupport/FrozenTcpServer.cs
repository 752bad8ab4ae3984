using System.Net;
using System.Net.Sockets;

namespace Coffre.TestSupport;

/// <summary>
/// A backend that froze: it accepts TCP connections on 127.0.0.1 and never answers, holding every connection open
/// until disposed. The one fault of a real S3 server (moto, s3rver) that cannot be produced by stopping it.
/// </summary>
public sealed class FrozenTcpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<TcpClient> _held = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public FrozenTcpServer()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = Task.Run(async () =>
        {
            try
            {
                while (true) _held.Add(await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false));
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    public int Port { get; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _accepting.ConfigureAwait(false);
        _listener.Stop();
        foreach (var c in _held) c.Dispose();
        _stop.Dispose();
    }
}
