using System.Diagnostics;
using System.Text.Json;
using Coffre.Kms;
using Coffre.Kms.Access;
using Coffre.Kms.Keys;
using Coffre.Server.Auth;
using Coffre.Server.Kms;
using Coffre.Server.Observability;
using Coffre.Server.Signing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Coffre.Server.Admin;

/// <summary>
/// The deployment's administration API, beside the S3 and KMS faces on the same listener, under
/// <see cref="PathPrefix"/> (no S3 bucket name can contain '_', so it never shadows a bucket). JSON bodies, SigV4
/// signed for the service <see cref="Service"/> with the body hash verified (no UNSIGNED-PAYLOAD, no presigned URL,
/// no aws-chunked body), and the caller's access key must hold the admin grant. Routes (docs/operations.md):
/// access keys today; seal/unseal later.
/// </summary>
public sealed class AdminApi(SigV4Verifier verifier, AccessKeyDirectory directory, AccessKeyManager accessKeys, KeyManager keys,
    Metrics metrics, ILogger<AdminApi> log)
{
    public const string PathPrefix = "/_coffre/admin";
    public const string Service = "coffre";
    /// <summary>Largest request body read: grants are a few names.</summary>
    public const int MaxBodyBytes = 64 * 1024;
    private const string AccessKeysPath = PathPrefix + "/access-keys";

    /// <summary>Every name <see cref="Route"/> returns, plus "Authenticate": the admin face's <c>operation</c> metric labels.</summary>
    public static readonly IReadOnlyList<string> OperationNames =
        ["Authenticate", "ListAccessKeys", "ShowAccessKey", AccessKeyManager.CreateOperation, AccessKeyManager.GrantOperation,
         AccessKeyManager.RevokeOperation, AccessKeyManager.RotateOperation];

    public static bool IsAdminRequest(HttpRequest request) =>
        request.Path.StartsWithSegments(PathPrefix, StringComparison.Ordinal);

    public async Task HandleAsync(HttpContext http)
    {
        var started = Stopwatch.GetTimestamp();
        var operation = "Authenticate";
        var code = "OK";
        try
        {
            var (request, body, principal) = await AuthenticateAsync(http).ConfigureAwait(false);
            operation = Route(request.Method, request.RawPath, out var handler, out var keyId);
            var grants = directory.Find(principal)?.Grants ?? AccessGrants.None;
            if (!grants.Admin)
            {
                // Recorded before answering; if even the refusal cannot be recorded, the answer is 503 (no audit, no answer).
                var denied = await keys.RecordDeniedAsync(operation, null, principal, "it lacks the admin grant").ConfigureAwait(false);
                throw denied.Error == KmsError.AccessDenied ? new AdminException(AdminError.AccessDenied, denied.Message) : denied;
            }
            var answer = handler(principal, keyId, body);
            http.Response.StatusCode = 200;
            http.Response.ContentType = AdminJson.ContentType;
            await JsonSerializer.SerializeAsync(http.Response.Body, answer, answer.GetType(), AdminJson.Options).ConfigureAwait(false);
        }
        catch (AdminException e)
        {
            code = AdminErrors.Code(e.Error);
            await WriteErrorAsync(http, e.Error, e.Message).ConfigureAwait(false);
        }
        catch (KmsException e)
        {
            var error = AdminErrors.From(e.Error);
            code = AdminErrors.Code(error);
            if (error == AdminError.Unavailable) log.LogError(e, "Admin {Operation} failed: {Message}", operation, e.Message);
            await WriteErrorAsync(http, error, e.Message).ConfigureAwait(false);
        }
        finally
        {
            metrics.Request(MetricFace.Admin, operation, code, Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>Reads the bounded body, verifies the signature over it, and refuses any request whose body it does not cover.</summary>
    private async Task<(SigV4Request Request, byte[] Body, string Principal)> AuthenticateAsync(HttpContext http)
    {
        var body = await KmsFace.ReadBodyAsync(http.Request, MaxBodyBytes).ConfigureAwait(false)
            ?? throw new AdminException(AdminError.BodyTooLarge, $"The request body is larger than {MaxBodyBytes} bytes.");
        var request = SigV4RequestAdapter.FromHttpRequest(http.Request);
        if (request.RawQuery.Length > 0)
            throw new AdminException(AdminError.Unauthenticated, "Admin requests are signed in the Authorization header; presigned URLs and query strings are refused.");
        if (SigV4Verifier.RequiresBodyHash(request)) request = request.WithPayloadHash(SigV4Canonicalizer.Sha256Hex(body));
        var result = verifier.Verify(request);
        if (!result.IsSuccess) throw new AdminException(AdminError.Unauthenticated, result.Message);
        var auth = result.Context!;
        if (auth.Service != Service)
            throw new AdminException(AdminError.Unauthenticated, $"Admin requests must be signed for the service '{Service}', not '{auth.Service}'.");
        var covered = auth.PayloadMode switch
        {
            PayloadMode.PrecomputedHash => true,
            PayloadMode.SignedHash => string.Equals(auth.ExpectedPayloadHash, SigV4Canonicalizer.Sha256Hex(body), StringComparison.OrdinalIgnoreCase),
            _ => false,
        };
        if (!covered)
            throw new AdminException(AdminError.Unauthenticated,
                "The signature does not cover the request body: admin requests sign the SHA-256 of their body (no UNSIGNED-PAYLOAD, no streaming).");
        return (request, body, auth.AccessKeyId);
    }

    private delegate object Handler(string principal, string? keyId, byte[] body);

    private string Route(string method, string path, out Handler handler, out string? keyId)
    {
        keyId = null;
        if (path == AccessKeysPath)
        {
            switch (method)
            {
                case "GET": handler = (_, _, _) => new AccessKeyListBody([.. accessKeys.List().Select(k => AccessKeyBody.From(k))]); return "ListAccessKeys";
                case "POST": handler = Create; return AccessKeyManager.CreateOperation;
            }
            throw new AdminException(AdminError.MethodNotAllowed, $"{method} is not allowed on {AccessKeysPath}: use GET (list) or POST (create).");
        }
        if (path.StartsWith(AccessKeysPath + "/", StringComparison.Ordinal))
        {
            var rest = path[(AccessKeysPath.Length + 1)..].Split('/');
            keyId = rest[0];
            switch (method, rest.Length == 2 ? rest[1] : rest.Length == 1 ? "" : null)
            {
                case ("GET", ""): handler = (_, id, _) => AccessKeyBody.From(accessKeys.Show(id!)); return "ShowAccessKey";
                case ("POST", "grant"): handler = Grant; return AccessKeyManager.GrantOperation;
                case ("POST", "revoke"): handler = (p, id, _) => Changed(AccessKeyBody.From(accessKeys.Revoke(id!, p))); return AccessKeyManager.RevokeOperation;
                case ("POST", "rotate"): handler = (p, id, _) => Changed(New(accessKeys.Rotate(id!, p))); return AccessKeyManager.RotateOperation;
            }
        }
        throw new AdminException(AdminError.NotFound, $"There is no admin route {method} {Short(path)}; see docs/operations.md (admin API).");
    }

    private object Create(string principal, string? _, byte[] body)
    {
        var request = Parse<CreateAccessKeyBody>(body);
        var grants = Validated((request.Grants ?? new GrantsBody()).ToGrants());
        return Changed(New(accessKeys.Create(grants, request.Description, principal)));
    }

    private object Grant(string principal, string? keyId, byte[] body)
    {
        var request = Parse<GrantAccessKeyBody>(body);
        var add = Validated((request.Add ?? new GrantsBody()).ToChange());
        var remove = (request.Remove ?? new GrantsBody()).ToChange();
        return Changed(AccessKeyBody.From(accessKeys.Grant(keyId!, add, remove, principal)));
    }

    private static AccessKeyBody New(NewAccessKey k) => AccessKeyBody.From(k.Key, k.SecretAccessKey);

    /// <summary>A change made here applies to this server at once, not at the next refresh.</summary>
    private T Changed<T>(T answer)
    {
        directory.Refresh();
        return answer;
    }

    private static AccessGrants Validated(AccessGrants grants)
    {
        try
        {
            return AccessGrantRules.Validated(grants);
        }
        catch (ArgumentException e)
        {
            throw new AdminException(AdminError.InvalidRequest, e.Message);
        }
    }

    private static T Parse<T>(byte[] body) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(body, AdminJson.Options)
                ?? throw new AdminException(AdminError.InvalidRequest, "The request body is JSON null; send an object.");
        }
        catch (JsonException e)
        {
            throw new AdminException(AdminError.InvalidRequest, $"The request body is not the expected JSON: {e.Message}");
        }
    }

    private static Task WriteErrorAsync(HttpContext http, AdminError error, string message)
    {
        if (http.Response.HasStarted)
        {
            http.Abort();
            return Task.CompletedTask;
        }
        http.Response.Clear();
        http.Response.StatusCode = AdminErrors.Status(error);
        http.Response.ContentType = AdminJson.ContentType;
        return JsonSerializer.SerializeAsync(http.Response.Body, new AdminErrorBody(AdminErrors.Code(error), message), AdminJson.Options);
    }

    private static string Short(string s) => s.Length <= 100 ? s : s[..100] + "...";
}
