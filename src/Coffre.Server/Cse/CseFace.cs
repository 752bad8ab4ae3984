using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Coffre.Server.Kms;
using Coffre.Server.Observability;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Coffre.Server.Cse;

/// <summary>
/// The Google Workspace client-side encryption key service face (KACLS): <c>POST {prefix}/wrap|unwrap|rewrap|digest|
/// privilegedwrap|privilegedunwrap</c> and <c>GET {prefix}/status</c>, JSON in and out, errors as Google's structured
/// error reply <c>{"code", "message", "details"}</c> (details: the <see cref="CseError"/> name), CORS for the configured
/// browser origins (Google's client calls from the user's browser). Authentication is by the tokens in the body
/// (<see cref="CseOperations"/>), not SigV4: these paths are routed before the SigV4 entry point.
/// </summary>
public sealed class CseFace(CseOptions options, CseOperations operations, Metrics metrics, ILogger<CseFace> log)
{
    /// <summary>Bodies are a few tokens and a wrapped key: 64 KiB is far above any valid one.</summary>
    public const int MaxBodyBytes = 64 * 1024;
    private const string ContentType = "application/json";

    public static IEnumerable<string> OperationNames => [.. CseOperations.Names, "preflight"];

    public void Map(WebApplication app)
    {
        foreach (var name in CseOperations.Names)
            app.MapMethods($"{options.PathPrefix}/{name}", [HttpMethods.Get, HttpMethods.Post, HttpMethods.Options], http => HandleAsync(http, name));
    }

    public async Task HandleAsync(HttpContext http, string operation)
    {
        var started = Stopwatch.GetTimestamp();
        var code = "OK";
        var allowedOrigin = AllowedOrigin(http.Request);
        if (allowedOrigin is not null)
        {
            http.Response.Headers.AccessControlAllowOrigin = allowedOrigin;
            http.Response.Headers.Vary = "Origin";
        }
        if (HttpMethods.IsOptions(http.Request.Method))
        {
            // A browser's preflight: answered for allowed origins only; the actual request is then authorized by its tokens.
            if (allowedOrigin is not null)
            {
                http.Response.Headers.AccessControlAllowMethods = "GET, POST, OPTIONS";
                http.Response.Headers.AccessControlAllowHeaders = "Content-Type, Authorization";
                http.Response.Headers.AccessControlMaxAge = "3600";
            }
            http.Response.StatusCode = allowedOrigin is null ? 403 : 204;
            metrics.Request(MetricFace.Cse, "preflight", allowedOrigin is null ? CseError.Forbidden.ToString() : "OK", Stopwatch.GetElapsedTime(started));
            return;
        }
        var buffer = new ArrayBufferWriter<byte>(512);
        try
        {
            var isStatus = operation == "status";
            if (isStatus != HttpMethods.IsGet(http.Request.Method))
                throw new CseException(CseError.MethodNotAllowed, $"{operation} is {(isStatus ? "GET" : "POST")} only.");
            await using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                if (isStatus) operations.Status(w);
                else
                {
                    var body = await KmsFace.ReadBodyAsync(http.Request, MaxBodyBytes)
                        ?? throw new CseException(CseError.BadRequest, $"The request body is larger than {MaxBodyBytes} bytes.");
                    var request = CseRequest.Parse(body);
                    var cancel = http.RequestAborted;
                    await (operation switch
                    {
                        "wrap" => operations.WrapAsync(request, w, cancel),
                        "unwrap" => operations.UnwrapAsync(request, w, cancel),
                        "rewrap" => operations.RewrapAsync(request, w, cancel),
                        "digest" => operations.DigestAsync(request, w, cancel),
                        "privilegedwrap" => operations.PrivilegedWrapAsync(request, w, cancel),
                        "privilegedunwrap" => operations.PrivilegedUnwrapAsync(request, w, cancel),
                        _ => throw new CseException(CseError.NotFound, $"There is no operation '{operation}'."),
                    });
                }
                w.WriteEndObject();
            }
            http.Response.StatusCode = 200;
            http.Response.ContentType = ContentType;
            http.Response.ContentLength = buffer.WrittenCount;
            await http.Response.Body.WriteAsync(buffer.WrittenMemory);
        }
        catch (CseException refusal)
        {
            var e = refusal.Record is { } record ? await record() : refusal;
            code = e.Error.ToString();
            if (e.Error == CseError.Unavailable) log.LogError("CSE {Operation} failed: {Message}", operation, e.Message);
            await WriteErrorAsync(http, e.Error, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException || !http.RequestAborted.IsCancellationRequested)
        {
            code = CseError.Internal.ToString();
            log.LogError(e, "Unexpected failure during CSE {Operation}", operation);
            if (!http.Response.HasStarted) await WriteErrorAsync(http, CseError.Internal, "Internal error; the server's log has the details.");
        }
        finally
        {
            buffer.Clear(); // zeroes an answer holding a data key once it is sent
            metrics.Request(MetricFace.Cse, operation, code, Stopwatch.GetElapsedTime(started));
        }
    }

    private string? AllowedOrigin(HttpRequest request)
    {
        var origin = request.Headers.Origin.ToString();
        return origin.Length > 0 && options.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase) ? origin : null;
    }

    private static Task WriteErrorAsync(HttpContext http, CseError error, string message)
    {
        var status = CseErrors.Status(error);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("code", status);
            w.WriteString("message", message);
            w.WriteString("details", error.ToString());
            w.WriteEndObject();
        }
        http.Response.StatusCode = status;
        http.Response.ContentType = ContentType;
        http.Response.ContentLength = buffer.Length;
        return http.Response.Body.WriteAsync(buffer.ToArray()).AsTask();
    }
}
