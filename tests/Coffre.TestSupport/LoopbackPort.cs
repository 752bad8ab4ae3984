using System.Net;
using System.Net.Sockets;

namespace Coffre.TestSupport;

/// <summary>A free TCP port on 127.0.0.1 for a server a test starts (the OS picks it; released at once for the server).</summary>
public static class LoopbackPort
{
    public static int Free()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try { return ((IPEndPoint)listener.LocalEndpoint).Port; }
        finally { listener.Stop(); }
    }
}
