using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Coffre.Server.Observability;

/// <summary>
/// One structured line per request (<c>Coffre:AccessLog</c>), logged under the category <see cref="Category"/> at
/// Information: method, path, subresources, status, bytes each way, duration, client address, access key id and the
/// request id the client was given. It replaces ASP.NET's own request lines, which Coffre keeps at Warning
/// (two lines per request at Information cost a measurable share of small-object throughput, docs/benchmarks.md).
/// Nothing secret is written: query values are left out (a presigned URL's signature is a bearer credential),
/// only their names are kept, and of the credential only the access key id, which is not secret.
/// </summary>
public static partial class AccessLog
{
    public const string Category = "Coffre.AccessLog";

    public static Func<HttpContext, Func<Task>, Task> Middleware(ILogger logger) => async (http, next) =>
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next().ConfigureAwait(false);
        }
        finally
        {
            var request = http.Request;
            var response = http.Response;
            Logged(logger, request.Method, request.Path.Value ?? "/", QueryNames(request.Query), response.StatusCode,
                request.ContentLength ?? 0, response.ContentLength ?? 0,
                Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 1),
                http.Connection.RemoteIpAddress?.ToString() ?? "", AccessKeyId(request) ?? "-",
                response.Headers["x-amz-request-id"].ToString(), http.RequestAborted.IsCancellationRequested);
        }
    };

    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "{Method} {Path} {Query} {Status} in={BytesIn} out={BytesOut} {DurationMs} ms client={Client} key={AccessKeyId} id={RequestId} aborted={Aborted}")]
    private static partial void Logged(ILogger logger, string method, string path, string query, int status, long bytesIn, long bytesOut,
        double durationMs, string client, string accessKeyId, string requestId, bool aborted);

    /// <summary>The query's parameter names (the subresources), comma-separated, without any value.</summary>
    internal static string QueryNames(IQueryCollection query)
    {
        if (query.Count == 0) return "-";
        var names = new StringBuilder();
        foreach (var name in query.Keys)
        {
            if (names.Length > 0) names.Append(',');
            names.Append(name);
        }
        return names.ToString();
    }

    /// <summary>The access key id of a SigV4 or SigV2 header or presigned query, if the request carries one.</summary>
    internal static string? AccessKeyId(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        var credential = authorization.IndexOf("Credential=", StringComparison.Ordinal);
        if (credential >= 0) return UpToSlash(authorization.AsSpan(credential + "Credential=".Length));
        if (authorization.StartsWith("AWS ", StringComparison.Ordinal))
        {
            var colon = authorization.IndexOf(':', 4);
            return colon > 4 ? authorization[4..colon] : null;
        }
        if (request.Query["X-Amz-Credential"].ToString() is { Length: > 0 } presigned) return UpToSlash(presigned);
        return request.Query["AWSAccessKeyId"].ToString() is { Length: > 0 } v2 ? v2 : null;
    }

    private static string UpToSlash(ReadOnlySpan<char> s)
    {
        var end = s.IndexOfAny('/', ',');
        return (end < 0 ? s : s[..end]).Trim().ToString();
    }
}
