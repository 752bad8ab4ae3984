using System.Net.Sockets;
using System.Text;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// Signed S3 requests written byte by byte on a TCP connection, for what HttpClient will not send: broken HTTP
/// chunking, a body shorter than its Content-Length, a body that never ends.
/// </summary>
internal static class RawHttp
{
    public sealed record Response(int Status, string Head, string Body)
    {
        public bool Has(string code) => Body.Contains($"<Code>{code}</Code>", StringComparison.Ordinal);
    }

    /// <summary>The request line and headers of a signed request with an unsigned payload, ending with the blank line.</summary>
    public static byte[] Head(GatewayServer gateway, string method, string pathAndQuery, params (string Name, string Value)[] headers)
    {
        var signed = SdkTestSupport.Sign(gateway, method, pathAndQuery, "UNSIGNED-PAYLOAD", headers);
        var text = new StringBuilder($"{method} {pathAndQuery} HTTP/1.1\r\n");
        foreach (var (n, v) in signed.Headers) text.Append(n).Append(": ").Append(v).Append("\r\n");
        return Encoding.ASCII.GetBytes(text.Append("\r\n").ToString());
    }

    /// <summary>One HTTP chunk.</summary>
    public static byte[] Chunk(byte[] data) =>
        [.. Encoding.ASCII.GetBytes($"{data.Length:x}\r\n"), .. data, .. "\r\n"u8];

    /// <summary>
    /// Sends the pieces in order (stopping quietly if the server closes the connection first), optionally shuts down the
    /// sending side, then reads one response. Null when the connection closed, or stayed silent for <paramref name="wait"/>, without one.
    /// </summary>
    public static async Task<Response?> ExchangeAsync(GatewayServer gateway, IEnumerable<byte[]> pieces, bool shutdownSend, TimeSpan wait)
    {
        var uri = new Uri(gateway.Endpoint);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(uri.Host, uri.Port);
        var socket = tcp.Client;
        using var timeout = new CancellationTokenSource(wait);
        var reading = ReadResponseAsync(socket, timeout.Token);
        try
        {
            foreach (var piece in pieces)
            {
                if (reading.IsCompleted) break;
                await socket.SendAsync(piece, SocketFlags.None, timeout.Token);
            }
            if (shutdownSend) socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            // The server answered and closed while the body was still being sent.
        }
        return await reading;
    }

    private static async Task<Response?> ReadResponseAsync(Socket socket, CancellationToken ct)
    {
        var received = new List<byte>();
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, ct);
                if (n == 0) break;
                received.AddRange(buffer.AsSpan(0, n));
                if (Complete(received) is { } response) return response;
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
        }
        return Complete(received);
    }

    private static Response? Complete(List<byte> received)
    {
        var text = Encoding.UTF8.GetString(received.ToArray());
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        // A 100 Continue is an interim answer: the response is the one after it.
        while (end >= 0 && text.StartsWith("HTTP/1.1 100", StringComparison.Ordinal))
        {
            text = text[(end + 4)..];
            end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        }
        if (end < 0) return null;
        var head = text[..end];
        var length = head.Split("\r\n").Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            .Select(p => int.Parse(p[1].Trim(), System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
        var body = text[(end + 4)..];
        if (Encoding.UTF8.GetByteCount(body) < length) return null;
        return new Response(int.Parse(head.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), head, body);
    }
}
