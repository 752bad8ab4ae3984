using System.Buffers;
using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using Coffre.Kms;
using Coffre.Kms.Keys;
using Coffre.Server.Kms;
using Coffre.Server.Observability;
using Coffre.Server.Signing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Coffre.Server.Xks;

/// <summary>
/// The AWS KMS External Key Store proxy face (XKS proxy API v1, docs/xks.md): AWS KMS calls it to encrypt and decrypt
/// under keys Coffre holds, so that a key disabled here stops AWS services from reading the data it protects.
/// Authentication is the XKS credentials of each configured store (SigV4, service <see cref="Service"/>), apart from
/// Coffre's access keys; each store answers only under its own URI prefix and for its own external keys. Every answer
/// goes through the key manager, which records it (with the request metadata) before it is sent; so is every refusal.
/// </summary>
public sealed class XksFace
{
    public const string Service = "kms-xks-proxy";
    /// <summary>The <c>coffre:face</c> value of this face's audit records.</summary>
    public const string FaceName = Coffre.Kms.Audit.AuditFace.Xks;
    /// <summary>Largest body read: 4300 bytes of plaintext and 8 KiB of AAD in Base64 are under 16 KiB, and requestMetadata
    /// carries a few ARNs of up to 2048 characters each.</summary>
    public const int MaxBodyBytes = 64 * 1024;
    /// <summary>The spec's allowed clock skew for a signed request: 5 minutes either way.</summary>
    public static readonly TimeSpan AllowedSkew = TimeSpan.FromMinutes(5);
    public static readonly IReadOnlyList<string> OperationNames = ["Authenticate", "Unknown", .. Enum.GetNames<XksOperation>()];

    private readonly XksOptions _options;
    private readonly KeyManager _keys;
    private readonly Metrics _metrics;
    private readonly ILogger<XksFace> _log;
    private readonly SigV4Verifier _verifier;
    private readonly Dictionary<string, XksStoreOptions> _storeByAccessKey = new(StringComparer.Ordinal);
    private static readonly string Model = "Coffre XKS proxy " + (typeof(XksFace).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0");

    public XksFace(XksOptions options, KeyManager keys, Metrics metrics, ILogger<XksFace> log, TimeProvider time)
    {
        _options = options;
        _keys = keys;
        _metrics = metrics;
        _log = log;
        var credentials = new StaticCredentialStore();
        foreach (var store in options.Stores)
            foreach (var c in store.Credentials)
            {
                credentials.Add(c.AccessKeyId, c.SecretAccessKey);
                _storeByAccessKey[c.AccessKeyId] = store;
            }
        _verifier = new SigV4Verifier(credentials, time, AllowedSkew, [Service]);
    }

    /// <summary>Whether this face answers the request: everything on its own listener but the load balancers' /healthz,
    /// and on the main listener whatever is addressed to it (its path, or its signing service).
    /// Asked of every request the server gets, so it looks at the path and the Authorization header's text only.</summary>
    public bool Owns(HttpContext http)
    {
        if (XksListener.IsXksConnection(http)) return http.Request.Path != "/healthz";
        if (XksRoute.LooksLikeXks(http.Request.Path.Value ?? "")) return true;
        var authorization = http.Request.Headers.Authorization;
        return authorization.Count > 0 && authorization[0] is { } a && a.Contains(ScopeSuffix, StringComparison.Ordinal);
    }

    private const string ScopeSuffix = "/" + Service + "/aws4_request";

    public async Task HandleAsync(HttpContext http)
    {
        var started = Stopwatch.GetTimestamp();
        var operation = "Authenticate";
        var code = "OK";
        string principal = "xks:(unauthenticated)";
        XksRoute? route = null;
        XksRequest? request = null;
        byte[]? body = null;
        try
        {
            var signedRequest = SigV4RequestAdapter.FromHttpRequest(http.Request);
            var (path, _) = SigV4RequestAdapter.SplitTarget(signedRequest.RawPath);
            route = XksRoute.Parse(path);
            if (HttpMethods.IsGet(http.Request.Method) && route is not null)
                throw new XksFaceException(XksError.MethodNotAllowed, "XKS proxy API requests are POST.");
            if (_options.Listen is not null && !XksListener.IsXksConnection(http))
                throw new XksFaceException(XksError.InvalidUriPathException, "The XKS proxy API is served on its own listener (Coffre:Xks:Listen), not this one.");
            body = await KmsFace.ReadBodyAsync(http.Request, MaxBodyBytes).ConfigureAwait(false)
                ?? throw new XksFaceException(XksError.ValidationException, $"The request body is larger than {MaxBodyBytes} bytes.");
            var signed = _verifier.Verify(signedRequest.WithPayloadHash(SigV4Canonicalizer.Sha256Hex(body)));
            if (!signed.IsSuccess)
            {
                if (signed.AccessKeyId is { } claimed) principal = "xks:" + Printable(claimed, 64);
                throw new XksFaceException(XksError.AuthenticationFailedException, $"The request is not signed with this proxy's credentials: {signed.Message}");
            }
            principal = "xks:" + signed.Context!.AccessKeyId;
            var store = _storeByAccessKey[signed.Context.AccessKeyId];
            if (route is null || route.Prefix != store.Prefix || !HttpMethods.IsPost(http.Request.Method))
                throw new XksFaceException(XksError.InvalidUriPathException,
                    $"'{Printable(path, 200)}' is not an XKS proxy API path of this store: POST {store.UriPath}/health or {store.UriPath}/keys/KEY_ID/metadata|encrypt|decrypt.");
            operation = route.Operation.ToString();
            request = XksRequest.Parse(body, route.Operation);
            await AnswerAsync(http, store, route, request, principal).ConfigureAwait(false);
        }
        catch (XksFaceException e)
        {
            code = e.Error.ToString();
            await RefuseAsync(http, e.Error, e.Message, principal, route, request, operation).ConfigureAwait(false);
        }
        catch (KmsException e)
        {
            // Refused by the key manager, which recorded it.
            var error = XksErrors.Of(e.Error);
            code = error.ToString();
            if (e.Error is KmsError.AuditUnavailable or KmsError.StoreUnavailable)
                _log.LogError(e, "XKS {Operation} failed: {Message}", operation, e.Message);
            await WriteErrorAsync(http, error, e.Message).ConfigureAwait(false);
        }
        catch (Exception e) when (!http.RequestAborted.IsCancellationRequested && e is not BadHttpRequestException)
        {
            code = XksError.InternalException.ToString();
            _log.LogError(e, "Unexpected failure during XKS {Operation}", operation);
            if (!http.Response.HasStarted)
                await WriteErrorAsync(http, XksError.InternalException, "The proxy failed; see its log.").ConfigureAwait(false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(body); // an Encrypt's plaintext arrives in it, as Base64
            _metrics.Request(MetricFace.Xks, operation, code, Stopwatch.GetElapsedTime(started));
        }
    }

    private async Task AnswerAsync(HttpContext http, XksStoreOptions store, XksRoute route, XksRequest request, string principal)
    {
        if (route.Operation == XksOperation.GetHealthStatus)
        {
            await WriteAsync(http, w => Health(w, store)).ConfigureAwait(false);
            return;
        }
        var externalId = route.ExternalKeyId!;
        if (!store.Keys.TryGetValue(externalId, out var key))
            throw new XksFaceException(XksError.KeyNotFoundException, $"This store has no external key '{Printable(externalId, 128)}'.");
        var context = XksRequest.AuditContext(store.Prefix, externalId, request.Metadata);
        switch (route.Operation)
        {
            case XksOperation.GetKeyMetadata:
            {
                var status = await _keys.DescribeExternalKeyAsync(key.Key, principal, context).ConfigureAwait(false);
                await WriteAsync(http, w =>
                {
                    w.WriteString("keySpec", "AES_256");
                    w.WriteStartArray("keyUsage");
                    foreach (var usage in key.Usage) w.WriteStringValue(usage);
                    w.WriteEndArray();
                    w.WriteString("keyStatus", status.State == KeyState.Enabled ? "ENABLED" : "DISABLED");
                }).ConfigureAwait(false);
                return;
            }
            case XksOperation.Encrypt:
            {
                CheckUsage(key, XksKeyUsage.Encrypt, externalId);
                var aad = request.AssociatedData ?? [];
                var plaintext = request.Plaintext!;
                try
                {
                    var made = await _keys.EncryptExternalAsync(key.Key, plaintext, v => XksCiphertext.AssociatedData(aad, XksCiphertext.Metadata(v)),
                        principal, context).ConfigureAwait(false);
                    var metadata = XksCiphertext.Metadata(made.KeyVersion);
                    var associated = XksCiphertext.AssociatedData(aad, metadata);
                    // Integrity value first, then the test decryption of what it covers (spec, Appendix C): a bit flipped
                    // after the hash is caught by the decryption, one flipped before it by the caller's own hash.
                    var integrity = request.IntegrityValueRequested
                        ? XksCiphertext.IntegrityValue(aad, metadata, made.Nonce, made.Ciphertext, made.Tag) : null;
                    if (!_keys.VerifyExternal(made, plaintext, associated))
                        throw new InvalidOperationException($"The test decryption of a fresh XKS ciphertext under key '{key.Key}' failed.");
                    await WriteAsync(http, w =>
                    {
                        w.WriteBase64String("ciphertext", made.Ciphertext);
                        w.WriteBase64String("ciphertextMetadata", metadata);
                        w.WriteBase64String("initializationVector", made.Nonce);
                        w.WriteBase64String("authenticationTag", made.Tag);
                        if (integrity is not null) w.WriteBase64String("ciphertextDataIntegrityValue", integrity);
                    }).ConfigureAwait(false);
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(plaintext);
                }
                return;
            }
            case XksOperation.Decrypt:
            {
                CheckUsage(key, XksKeyUsage.Decrypt, externalId);
                var version = request.CiphertextMetadata is { } m ? XksCiphertext.KeyVersion(m) : null;
                if (version is null)
                    throw new XksFaceException(XksError.InvalidCiphertextException,
                        "The ciphertextMetadata is missing or is not Coffre's (it names the key version): the ciphertext was not made by this proxy, or was altered.");
                var associated = XksCiphertext.AssociatedData(request.AssociatedData ?? [], request.CiphertextMetadata);
                var plaintext = await _keys.DecryptExternalAsync(key.Key, version.Value, request.InitializationVector, request.Ciphertext,
                    request.AuthenticationTag, associated, principal, context).ConfigureAwait(false);
                try
                {
                    await WriteAsync(http, w => w.WriteBase64String("plaintext", plaintext)).ConfigureAwait(false);
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(plaintext);
                }
                return;
            }
        }
    }

    private static void CheckUsage(XksKeyOptions key, string usage, string externalId)
    {
        if (!key.Usage.Contains(usage))
            throw new XksFaceException(XksError.InvalidKeyUsageException,
                $"External key '{externalId}' is configured for {string.Join(" and ", key.Usage)} only, not {usage}.");
    }

    /// <summary>
    /// The deep health check: the key store answers and every key of this store resolves. ACTIVE when each is enabled,
    /// DEGRADED when some are not (the others still serve), and a key store that fails is an error (the call throws).
    /// Health checks come every few seconds and release nothing, so a success is not recorded in the audit trail.
    /// </summary>
    private void Health(Utf8JsonWriter w, XksStoreOptions store)
    {
        var healthy = store.Keys.Values.All(k => _keys.TryKeyState(k.Key) == KeyState.Enabled);
        w.WriteNumber("xksProxyFleetSize", _options.FleetSize);
        w.WriteString("xksProxyVendor", "Coffre");
        w.WriteString("xksProxyModel", Model);
        w.WriteString("ekmVendor", "Coffre");
        w.WriteStartArray("ekmFleetDetails");
        w.WriteStartObject();
        w.WriteString("id", _keys.DeploymentId);
        w.WriteString("model", "Coffre key manager");
        w.WriteString("healthStatus", healthy ? "ACTIVE" : "DEGRADED");
        w.WriteEndObject();
        w.WriteEndArray();
    }

    /// <summary>Records a refusal made at the face (the key manager records its own) and answers it.</summary>
    private async Task RefuseAsync(HttpContext http, XksError error, string message, string principal, XksRoute? route, XksRequest? request,
        string operation)
    {
        if (error != XksError.MethodNotAllowed)
        {
            var context = XksRequest.AuditContext(route?.Prefix, route?.ExternalKeyId, request?.Metadata ?? [], error, message);
            var recorded = await _keys.RecordRefusalAsync("External" + (route?.Operation.ToString() ?? operation), principal, context,
                new KmsException(XksErrors.RecordedAs(error), message)).ConfigureAwait(false);
            if (recorded.Error == KmsError.AuditUnavailable)
            {
                _log.LogError(recorded, "XKS refusal could not be recorded");
                (error, message) = (XksError.InternalException, "The audit trail is unavailable.");
            }
        }
        await WriteErrorAsync(http, error, message).ConfigureAwait(false);
    }

    private static async Task WriteAsync(HttpContext http, Action<Utf8JsonWriter> fields)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        try
        {
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                fields(w);
                w.WriteEndObject();
            }
            http.Response.StatusCode = 200;
            http.Response.ContentType = "application/json";
            http.Response.ContentLength = buffer.WrittenCount;
            await http.Response.Body.WriteAsync(buffer.WrittenMemory).ConfigureAwait(false);
        }
        finally
        {
            buffer.Clear(); // zeroes a plaintext once sent
        }
    }

    public static Task WriteErrorAsync(HttpContext http, XksError error, string message)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string>
        {
            ["errorName"] = error.ToString(),
            ["errorMessage"] = Printable(message, 511),
        });
        http.Response.StatusCode = XksErrors.StatusOf(error);
        http.Response.ContentType = "application/json";
        if (error == XksError.MethodNotAllowed) http.Response.Headers.Allow = "POST";
        http.Response.ContentLength = body.Length;
        return http.Response.Body.WriteAsync(body).AsTask();
    }

    /// <summary>The spec's errorMessage: under 512 characters of printable ASCII.</summary>
    private static string Printable(string text, int max)
    {
        var chars = text.Select(c => c is >= ' ' and <= '~' ? c : '?').Take(max).ToArray();
        return new string(chars);
    }
}
