using System.Net.Sockets;
using System.Text;
using Coffre.Server.Signing;
using Coffre.Server.Tests.Signing;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// HTTP/1.1 written byte for byte on a socket, for request targets HttpClient would normalise or refuse to send
/// (absolute-form, dot segments, malformed percent-escapes), signed with the test signer over exactly that target.
/// </summary>
internal static class RawHttp
{
    public sealed record Response(int Status, string Head, string Body);

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
}
