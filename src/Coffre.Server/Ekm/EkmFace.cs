using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Coffre.Server.Kms;
using Coffre.Server.Observability;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Coffre.Server.Ekm;

/// <summary>
/// The Google Cloud External Key Manager face: <c>POST {prefix}/keys/{name}:wrap</c> and <c>:unwrap</c>, a bearer token in
/// the Authorization header, errors as google.rpc.Status JSON (<c>{"error": {"code", "message", "status"}}</c>). Google's
/// EKM wire protocol is shared with partners only: docs/hyok.md says which parts are public and which are inferred.
/// </summary>
public sealed class EkmFace(EkmOptions options, EkmOperations operations, Metrics metrics, ILogger<EkmFace> log)
{
    public const int MaxBodyBytes = 128 * 1024;

    public static IEnumerable<string> OperationNames => [.. EkmOperations.Names, "unknown"];

    public void Map(WebApplication app) =>
        app.MapMethods(options.PathPrefix + "/keys/{*target}", [HttpMethods.Post, HttpMethods.Get, HttpMethods.Put, HttpMethods.Delete],
            (HttpContext http, string target) => HandleAsync(http, target));

    public async Task HandleAsync(HttpContext http, string target)
    {
        var started = Stopwatch.GetTimestamp();
        var colon = target.LastIndexOf(':');
        var (name, operation) = colon > 0 ? (target[..colon], target[(colon + 1)..]) : (target, "");
        var metricOperation = EkmOperations.Names.Contains(operation) ? operation : "unknown";
        var code = "OK";
        var buffer = new ArrayBufferWriter<byte>(256);
        try
        {
            if (metricOperation == "unknown" || !HttpMethods.IsPost(http.Request.Method))
                throw new EkmException(EkmError.NotFound, "EKM requests are POST {key URI}:wrap or :unwrap.");
            var body = await KmsFace.ReadBodyAsync(http.Request, MaxBodyBytes)
                ?? throw new EkmException(EkmError.InvalidArgument, $"The request body is larger than {MaxBodyBytes} bytes.");
            await using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                await operations.HandleAsync(name, operation, http.Request.Headers.Authorization.ToString(), body, w, http.RequestAborted);
                w.WriteEndObject();
            }
            http.Response.StatusCode = 200;
            http.Response.ContentType = "application/json";
            http.Response.ContentLength = buffer.WrittenCount;
            await http.Response.Body.WriteAsync(buffer.WrittenMemory);
        }
        catch (EkmException e)
        {
            code = EkmErrors.StatusName(e.Error);
            if (e.Error == EkmError.Unavailable) log.LogError("EKM {Operation} failed: {Message}", operation, e.Message);
            await WriteErrorAsync(http, e.Error, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException || !http.RequestAborted.IsCancellationRequested)
        {
            code = EkmErrors.StatusName(EkmError.Internal);
            log.LogError(e, "Unexpected failure during EKM {Operation}", operation);
            if (!http.Response.HasStarted) await WriteErrorAsync(http, EkmError.Internal, "Internal error; the server's log has the details.");
        }
        finally
        {
            buffer.Clear(); // zeroes an answer holding a plaintext once it is sent
            metrics.Request(MetricFace.Ekm, metricOperation, code, Stopwatch.GetElapsedTime(started));
        }
    }

    private static Task WriteErrorAsync(HttpContext http, EkmError error, string message)
    {
        var status = EkmErrors.Status(error);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteNumber("code", status);
            w.WriteString("message", message);
            w.WriteString("status", EkmErrors.StatusName(error));
            w.WriteEndObject();
            w.WriteEndObject();
        }
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        http.Response.ContentLength = buffer.Length;
        return http.Response.Body.WriteAsync(buffer.ToArray()).AsTask();
    }
}
