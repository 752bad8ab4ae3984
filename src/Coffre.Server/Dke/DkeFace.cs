using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Coffre.Kms;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Server.Kms;
using Coffre.Server.Observability;
using Coffre.Server.Tokens;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Coffre.Server.Dke;

/// <summary>
/// The Microsoft Double Key Encryption key service face (docs/hyok.md): <c>GET {prefix}/{key}</c> answers the public key of
/// the key's primary version as a JWK with the time a client may cache it, and <c>POST {prefix}/{key}/{key id}/decrypt</c>
/// opens an RSA-OAEP-256 ciphertext with the version the key id names, so documents protected before a rotation still open.
/// Both need an Entra ID bearer token; decrypt also needs the token's email or one of its roles to be authorized for the key
/// (as Azure-Samples/DoubleKeyEncryptionService's email and role authorizers). Every answer and refusal is in the audit trail
/// with <c>coffre:face</c> = dke, the caller, and the key name; nothing is answered before its record is durable.
/// </summary>
public sealed class DkeFace(DkeOptions options, KeyManager keys, BearerTokens tokens, Metrics metrics, TimeProvider time, ILogger<DkeFace> log)
{
    public const string Unauthenticated = "dke:unauthenticated";
    /// <summary>A ciphertext of RSA-4096 is 512 bytes: 16 KiB is far above any valid body.</summary>
    public const int MaxBodyBytes = 16 * 1024;
    public const string Algorithm = "RSA-OAEP-256";

    public static IEnumerable<string> OperationNames => ["getkey", "decrypt", "unknown"];

    public void Map(WebApplication app) =>
        app.MapMethods(options.PathPrefix + "/{*target}", [HttpMethods.Get, HttpMethods.Post, HttpMethods.Put, HttpMethods.Delete],
            (HttpContext http, string target) => HandleAsync(http, target));

    public async Task HandleAsync(HttpContext http, string target)
    {
        var started = Stopwatch.GetTimestamp();
        var parts = target.Split('/');
        var (operation, keyName, keyId) = parts switch
        {
            [var name] when HttpMethods.IsGet(http.Request.Method) => ("getkey", name, null),
            [var name, var id, "decrypt"] when HttpMethods.IsPost(http.Request.Method) => ("decrypt", name, id),
            _ => ("unknown", parts[0], null),
        };
        var code = "OK";
        var buffer = new ArrayBufferWriter<byte>(1024);
        var call = new Call(operation, keyName);
        try
        {
            if (operation == "unknown")
                throw new DkeException(parts.Length is 1 or 3 ? DkeError.MethodNotAllowed : DkeError.NotFound,
                    "DKE requests are GET {key URL} (the public key) or POST {key URL}/{key id}/decrypt.");
            await using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                if (operation == "getkey") await GetKeyAsync(call, http, w);
                else await DecryptAsync(call, http, keyId!, w);
                w.WriteEndObject();
            }
            http.Response.StatusCode = 200;
            http.Response.ContentType = "application/json";
            http.Response.ContentLength = buffer.WrittenCount;
            await http.Response.Body.WriteAsync(buffer.WrittenMemory);
        }
        catch (DkeException refusal)
        {
            var e = refusal;
            // Refusals the face decides itself are recorded here (the key manager records its own): no audit, no answer.
            if (!call.RecordedByKeyManager) e = await RecordAsync(call, refusal);
            code = e.Error.ToString();
            if (e.Error == DkeError.Unavailable) log.LogError("DKE {Operation} failed: {Message}", operation, e.Message);
            await WriteErrorAsync(http, e.Error, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException || !http.RequestAborted.IsCancellationRequested)
        {
            code = DkeError.Internal.ToString();
            log.LogError(e, "Unexpected failure during DKE {Operation}", operation);
            if (!http.Response.HasStarted) await WriteErrorAsync(http, DkeError.Internal, "Internal error; the server's log has the details.");
        }
        finally
        {
            buffer.Clear(); // zeroes an answer holding a plaintext once it is sent
            metrics.Request(MetricFace.Dke, operation, code, Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>What a request has established so far, for its audit record.</summary>
    private sealed class Call(string operation, string keyName)
    {
        public string Operation { get; } = operation;
        public string KeyName { get; } = keyName;
        public string Principal = Unauthenticated;
        public DkeKeyOptions? Key;
        public bool RecordedByKeyManager;

        public string Context(DkeException? refusal = null)
        {
            var members = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [AuditFace.ContextMember] = AuditFace.Dke,
                ["dke:operation"] = Operation,
                ["dke:key"] = Short(KeyName),
            };
            if (refusal is not null)
            {
                members["dke:error"] = refusal.Error.ToString();
                members["dke:refusal"] = refusal.Message;
            }
            return EncryptionContext.Json(members)!;
        }
    }

    private async Task GetKeyAsync(Call call, HttpContext http, Utf8JsonWriter w)
    {
        await AuthenticateAsync(call, http);
        var key = KeyOf(call);
        var info = await KeyManagerAsync(call, () => keys.GetPublicKeyAsync(key.Key, call.Principal, call.Context()));
        using var rsa = RSA.Create();
        rsa.ImportSubjectPublicKeyInfo(info.SubjectPublicKeyInfo, out _);
        var parameters = rsa.ExportParameters(false);
        w.WriteStartObject("key");
        w.WriteString("kty", "RSA");
        w.WriteBase64String("n", parameters.Modulus);
        w.WriteNumber("e", Exponent(parameters.Exponent!));
        w.WriteString("alg", "RS256");
        w.WriteString("kid", $"{options.Url!.TrimEnd('/')}/{call.KeyName}/{KeyId(info.KeyId, info.KeyVersion)}");
        w.WriteEndObject();
        w.WriteStartObject("cache");
        w.WriteString("exp", (time.GetUtcNow() + options.PublicKeyCacheLifetime).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
        w.WriteEndObject();
    }

    private async Task DecryptAsync(Call call, HttpContext http, string keyId, Utf8JsonWriter w)
    {
        var token = await AuthenticateAsync(call, http);
        var key = KeyOf(call);
        if (!Authorized(token, key))
            throw new DkeException(DkeError.Forbidden, $"'{Short(call.Principal)}' is not authorized to decrypt with key '{call.KeyName}' (Coffre:Dke:Keys:{call.KeyName}:AuthorizedEmails/AuthorizedRoles).");
        var (coffreKeyId, version) = ParseKeyId(keyId);
        var body = await KmsFace.ReadBodyAsync(http.Request, MaxBodyBytes)
            ?? throw new DkeException(DkeError.BadRequest, $"The request body is larger than {MaxBodyBytes} bytes.");
        var ciphertext = Ciphertext(body);
        // The key id names the Coffre key too: a key id of another key (the name pointed elsewhere since) is not found.
        if (!string.Equals(keys.TryResolveKeyId(key.Key), coffreKeyId, StringComparison.OrdinalIgnoreCase))
            throw new DkeException(DkeError.NotFound, $"The key id '{Short(keyId)}' is not one of key '{call.KeyName}'.");
        var result = await KeyManagerAsync(call, () =>
            keys.DecryptAsymmetricAsync(key.Key, version, ciphertext, AsymmetricEncryption.RsaesOaepSha256, call.Principal, call.Context()));
        try
        {
            w.WriteBase64String("value", result.Plaintext);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(result.Plaintext);
        }
    }

    private async Task<ValidToken> AuthenticateAsync(Call call, HttpContext http)
    {
        try
        {
            var header = http.Request.Headers.Authorization.ToString();
            var bearer = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
            var token = await tokens.ValidateAsync(bearer, "bearer token", http.RequestAborted);
            call.Principal = Email(token) ?? token.Claim("sub") ?? token.Issuer;
            return token;
        }
        catch (TokenException e)
        {
            throw new DkeException(DkeError.Unauthorized, e.Message);
        }
    }

    private DkeKeyOptions KeyOf(Call call) => call.Key = options.Keys.GetValueOrDefault(call.KeyName)
        ?? throw new DkeException(DkeError.NotFound, $"There is no DKE key '{Short(call.KeyName)}' here.");

    /// <summary>Runs a key-manager call, which records its own answer or refusal; maps its errors to the face's table.</summary>
    private static async Task<T> KeyManagerAsync<T>(Call call, Func<Task<T>> run)
    {
        call.RecordedByKeyManager = true;
        try
        {
            return await run();
        }
        catch (KmsException e)
        {
            throw new DkeException(DkeErrors.From(e.Error), e.Message);
        }
    }

    private async Task<DkeException> RecordAsync(Call call, DkeException refusal)
    {
        var denied = await keys.RecordDeniedAsync(call.Operation == "decrypt" ? "Decrypt" : "GetPublicKey", call.Key?.Key, call.Principal,
            refusal.Error.ToString(), call.Context(refusal));
        return denied.Error == KmsError.AuditUnavailable ? new DkeException(DkeError.Unavailable, denied.Message) : refusal;
    }

    private static bool Authorized(ValidToken token, DkeKeyOptions key) =>
        (Email(token) is { } email && key.AuthorizedEmails.Contains(email, StringComparer.OrdinalIgnoreCase))
        || Values(token, "roles").Any(role => key.AuthorizedRoles.Contains(role, StringComparer.Ordinal));

    /// <summary>The caller's email: Entra ID puts it in email, upn (work accounts) or preferred_username.</summary>
    private static string? Email(ValidToken token) => token.Claim("email") ?? token.Claim("upn") ?? token.Claim("preferred_username");

    private static IEnumerable<string> Values(ValidToken token, string claim) => token.Claims.GetValueOrDefault(claim) switch
    {
        null => [],
        string one => [one],
        IEnumerable<object> many => many.Select(v => v?.ToString() ?? ""),
        var other => [other.ToString() ?? ""],
    };

    /// <summary>A key id names the Coffre key and its version: "{key id}.{version}".</summary>
    public static string KeyId(string coffreKeyId, int version) => $"{coffreKeyId}.{version.ToString(CultureInfo.InvariantCulture)}";

    private static (string KeyId, int Version) ParseKeyId(string keyId)
    {
        var dot = keyId.LastIndexOf('.');
        if (dot > 0 && int.TryParse(keyId.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version >= 1)
            return (keyId[..dot], version);
        throw new DkeException(DkeError.NotFound, $"The key id '{Short(keyId)}' is not one this service published (they end in .{{version}}).");
    }

    private static byte[] Ciphertext(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 4 });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new DkeException(DkeError.BadRequest, "The request body is not a JSON object.");
            var alg = root.TryGetProperty("alg", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
            if (alg != Algorithm) throw new DkeException(DkeError.BadRequest, $"alg must be {Algorithm} (the only algorithm of DKE).");
            if (!root.TryGetProperty("value", out var v) || v.ValueKind != JsonValueKind.String || !v.TryGetBytesFromBase64(out var bytes) || bytes.Length == 0)
                throw new DkeException(DkeError.BadRequest, "value must be the base64 ciphertext.");
            return bytes;
        }
        catch (JsonException e)
        {
            throw new DkeException(DkeError.BadRequest, $"The request body is not valid JSON ({e.Message}).");
        }
    }

    private static long Exponent(byte[] bigEndian)
    {
        long e = 0;
        foreach (var b in bigEndian) e = (e << 8) | b;
        return e;
    }

    private static Task WriteErrorAsync(HttpContext http, DkeError error, string message)
    {
        var status = DkeErrors.Status(error);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("error", error.ToString());
            w.WriteString("message", message);
            w.WriteEndObject();
        }
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        http.Response.ContentLength = buffer.Length;
        if (error == DkeError.Unauthorized) http.Response.Headers.WWWAuthenticate = "Bearer";
        return http.Response.Body.WriteAsync(buffer.ToArray()).AsTask();
    }

    private static string Short(string s) => s.Length <= 80 ? s : s[..80] + "...";
}
