using System.Net.Sockets;
using System.Text;
using Coffre.Server.Signing;
using Coffre.Server.Tests.Signing;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// HTTP/1.1 written byte for byte on a socket, for what HttpClient would normalise or refuse to send: request targets
/// (absolute-form, dot segments, malformed percent-escapes) signed with the test signer over exactly that target, and
/// broken framing (bad chunking, a body shorter than its Content-Length, a body that never ends).
/// </summary>
internal static class RawHttp
{
    public sealed record Response(int Status, string Head, string Body)
    {
        public bool Has(string code) => Body.Contains($"<Code>{code}</Code>", StringComparison.Ordinal);
    }

    /// <summary>Signs (as service s3, or <paramref name="service"/>) and sends a request whose target is sent as given.</summary>
    public static Task<Response> SendSignedAsync(GatewayServer gateway, string method, string target, byte[]? body = null,
        IEnumerable<(string Name, string Value)>? headers = null, string service = "s3", string region = "us-east-1",
        string accessKey = GatewayServer.AccessKey, string secretKey = GatewayServer.SecretKey, string? host = null)
    {
        host ??= new Uri(gateway.Endpoint).Authority;
        // The path the client signs: an absolute-form target's, after the authority, as it was written.
        var origin = target.StartsWith("http://", StringComparison.Ordinal) ? target[(target.IndexOf('/', "http://".Length))..] : target;
        var (path, query) = origin.IndexOf('?') is var q and >= 0 ? (origin[..q], origin[(q + 1)..]) : (origin, "");
        var payload = body ?? [];
        var signed = TestSigner.Sign(method, path, query, headers ?? [], service == "s3" ? SigV4Canonicalizer.Sha256Hex(payload) : null,
            DateTimeOffset.UtcNow, service, region, accessKey, secretKey, host, payloadHashOverride: SigV4Canonicalizer.Sha256Hex(payload));
        var lines = new List<(string, string)>();
        foreach (var (name, values) in signed.Headers)
            foreach (var value in values)
                lines.Add((name, value));
        return SendAsync(gateway, method, target, lines, payload);
    }

    public static async Task<Response> SendAsync(GatewayServer gateway, string method, string target, IEnumerable<(string Name, string Value)> headers, byte[] body)
    {
        var endpoint = new Uri(gateway.Endpoint);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(endpoint.Host, endpoint.Port);
        await using var stream = tcp.GetStream();
        var head = new StringBuilder($"{method} {target} HTTP/1.1\r\n");
        foreach (var (name, value) in headers) head.Append(name).Append(": ").Append(value).Append("\r\n");
        head.Append("Content-Length: ").Append(body.Length).Append("\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(Encoding.UTF8.GetBytes(head.ToString()));
        await stream.WriteAsync(body);
        var text = Encoding.UTF8.GetString(await TestSigner.ReadAllAsync(stream));
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var responseHead = split < 0 ? text : text[..split];
        var responseBody = split < 0 ? "" : text[(split + 4)..];
        if (responseHead.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase)) responseBody = Dechunk(responseBody);
        return new Response(int.Parse(responseHead.Split(' ')[1]), responseHead, responseBody);
    }

    private static string Dechunk(string chunked)
    {
        var body = new StringBuilder();
        var at = 0;
        while (true)
        {
            var eol = chunked.IndexOf("\r\n", at, StringComparison.Ordinal);
            var size = Convert.ToInt32(chunked[at..eol].Split(';')[0], 16);
            if (size == 0) return body.ToString();
            body.Append(chunked, eol + 2, size);
            at = eol + 2 + size + 2;
        }
    }

    /// <summary>The S3 error code of an XML error body ("" when there is none).</summary>
    public static string S3Code(Response r) =>
        r.Body.Length == 0 ? "" : System.Xml.Linq.XElement.Parse(r.Body).Elements().FirstOrDefault(e => e.Name.LocalName == "Code")?.Value ?? "";

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
