using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Coffre.Kms;
using Coffre.Kms.Access;
using Coffre.Server.Auth;
using Coffre.Server.Observability;
using Coffre.Server.Signing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Coffre.Server.Kms;

/// <summary>One KMS call: who, what they may do, and the parsed request.</summary>
public sealed class KmsCall
{
    public required string Principal { get; init; }
    public required AccessGrants Access { get; init; }
    public required string Region { get; init; }
    public required string Operation { get; init; }
    public required KmsRequest Request { get; init; }
}

/// <summary>
/// The AWS KMS face: JSON 1.1 protocol (<c>POST /</c>, <c>X-Amz-Target: TrentService.Operation</c>),
/// on the same listener as the S3 face. The caller (CoffreServer.Dispatch) has verified SigV4 over the
/// buffered body; this class routes, checks the principal's rights, runs the operation through the key
/// manager (which audits it) and writes the answer or an AWS-shaped error.
/// </summary>
public sealed class KmsFace(KmsOperations operations, AccessKeyDirectory accessKeys, Metrics metrics, ILogger<KmsFace> log)
{
    public const string TargetPrefix = "TrentService.";
    /// <summary>Largest request body read (a 4096-byte plaintext is ~5.5 KiB of base64; contexts and tags add little).</summary>
    public const int MaxBodyBytes = 1 << 20;

    /// <summary>True when a request looks addressed to the KMS face: only to answer a refusal before authentication in the
    /// KMS shape. Routing follows the service the request was signed for.</summary>
    public static bool IsKmsRequest(HttpRequest request)
    {
        var target = request.Headers["X-Amz-Target"];
        if (target.Count > 0 && target[0] is { } t && t.StartsWith(TargetPrefix, StringComparison.Ordinal)) return true;
        var authorization = request.Headers.Authorization;
        return authorization.Count > 0 && authorization[0] is { } a && a.Contains("/kms/aws4_request", StringComparison.Ordinal);
    }

    public async Task HandleAsync(HttpContext http, SigV4AuthContext auth, ReadOnlyMemory<byte> body)
    {
        var started = Stopwatch.GetTimestamp();
        var requestId = Guid.NewGuid().ToString("D");
        var operation = "Unknown";
        var code = "OK";
        var buffer = new ArrayBufferWriter<byte>(512);
        try
        {
            if (!HttpMethods.IsPost(http.Request.Method) || http.Request.Path != "/")
                throw new KmsFaceException(KmsErrors.UnknownOperation, "KMS requests are POST / with an X-Amz-Target header.");
            var target = http.Request.Headers["X-Amz-Target"].ToString();
            if (!target.StartsWith(TargetPrefix, StringComparison.Ordinal))
                throw new KmsFaceException(KmsErrors.UnknownOperation, $"The X-Amz-Target header '{Short(target)}' does not name a TrentService operation.");
            operation = target[TargetPrefix.Length..];
            if (!operations.TryGet(operation, out var handler))
            {
                code = KmsErrors.UnknownOperation;
                operation = "Unknown";
                throw new KmsFaceException(KmsErrors.UnknownOperation, $"The operation '{Short(target)}' is not supported by Coffre.");
            }
            var call = new KmsCall
            {
                Principal = auth.AccessKeyId,
                Access = accessKeys.Find(auth.AccessKeyId)?.Grants ?? AccessGrants.None, // revoked since the signature check: no grants
                Region = auth.Region,
                Operation = operation,
                Request = KmsJson.Parse(body.Span),
            };
            await using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                await handler(call, w).ConfigureAwait(false);
                w.WriteEndObject();
            }
            http.Response.StatusCode = 200;
            http.Response.ContentType = KmsJson.ContentType;
            http.Response.Headers["x-amzn-RequestId"] = requestId;
            http.Response.ContentLength = buffer.WrittenCount;
            await http.Response.Body.WriteAsync(buffer.WrittenMemory).ConfigureAwait(false);
        }
        catch (KmsFaceException e)
        {
            code = e.Type;
            await WriteErrorAsync(http, e.Type, e.Message, requestId).ConfigureAwait(false);
        }
        catch (KmsException e)
        {
            var type = KmsErrors.TypeOf(e.Error);
            code = type;
            if (e.Error is KmsError.AuditUnavailable or KmsError.StoreUnavailable)
                log.LogError(e, "KMS {Operation} failed: {Message}", operation, e.Message);
            await WriteErrorAsync(http, type, e.Message, requestId).ConfigureAwait(false);
        }
        catch (Exception e) when (!http.RequestAborted.IsCancellationRequested)
        {
            // A bug, not a client error: logged for operators, answered (and counted) as AWS's generic internal error;
            // the exception text may name internals and never reaches the client.
            code = KmsErrors.Internal;
            log.LogError(e, "Unexpected failure during KMS {Operation}", operation);
            if (!http.Response.HasStarted)
                await WriteErrorAsync(http, KmsErrors.Internal, "We encountered an internal error. Please try again.", requestId).ConfigureAwait(false);
        }
        finally
        {
            buffer.Clear(); // zeroes the answer (plaintexts, data keys) once it is sent
            metrics.Request(MetricFace.Kms, operation, code, Stopwatch.GetElapsedTime(started));
        }
    }

    public static Task WriteErrorAsync(HttpContext http, string type, string message, string? requestId = null)
    {
        var body = KmsJson.Error(type, message);
        http.Response.StatusCode = KmsErrors.StatusOf(type);
        http.Response.ContentType = KmsJson.ContentType;
        http.Response.Headers["x-amzn-RequestId"] = requestId ?? Guid.NewGuid().ToString("D");
        http.Response.Headers["x-amzn-ErrorType"] = type;
        http.Response.ContentLength = body.Length;
        return http.Response.Body.WriteAsync(body).AsTask();
    }

    /// <summary>Reads the whole (small) body; null when it is larger than <paramref name="maxBytes"/> (the admin API reads its own with this too).</summary>
    public static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int maxBytes = MaxBodyBytes)
    {
        var length = request.ContentLength;
        if (length > maxBytes) return null;
        if (length is { } n)
        {
            var exact = new byte[n];
            var read = 0;
            while (read < n)
            {
                var got = await request.Body.ReadAsync(exact.AsMemory(read)).ConfigureAwait(false);
                if (got == 0) break;
                read += got;
            }
            return read == n ? exact : exact[..read];
        }
        using var ms = new MemoryStream();
        var chunk = new byte[16384];
        while (true)
        {
            var got = await request.Body.ReadAsync(chunk).ConfigureAwait(false);
            if (got == 0) return ms.ToArray();
            if (ms.Length + got > maxBytes) return null;
#pragma warning disable VSTHRD103 // a MemoryStream: no I/O to wait for
            ms.Write(chunk, 0, got);
#pragma warning restore VSTHRD103
        }
    }

    private static string Short(string s) => s.Length <= 100 ? s : s[..100] + "...";
}
