using System.Net.Http.Headers;
using System.Text.Json;
using Coffre.Server.Admin;
using Coffre.Server.Signing;

namespace Coffre.Cli;

/// <summary>
/// Calls a running server's admin API (docs/operations.md): JSON bodies, signed with SigV4 (service "coffre", body hash
/// signed) with the caller's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, except the unseal and seal-status routes, which
/// need no credential. Refusals become <see cref="CliException"/>s with the exit code of the admin error.
/// </summary>
public sealed class AdminClient : IDisposable
{
    /// <summary>Where the seal commands go without --endpoint: the default listen address of `coffre serve`.</summary>
    public const string DefaultEndpoint = "http://127.0.0.1:9000";

    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly string _accessKey;
    private readonly string _secretKey;
    private readonly string _region;

    public AdminClient(string endpoint)
    {
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new CliException(ExitCodes.Usage, $"--endpoint '{endpoint}' is not an http:// or https:// URL.");
        _accessKey = Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID") ?? "";
        _secretKey = Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY") ?? "";
        _region = Environment.GetEnvironmentVariable("AWS_REGION") is { Length: > 0 } r ? r
            : Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION") is { Length: > 0 } d ? d : "us-east-1";
        _endpoint = uri;
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>Fails early, before any prompt, when a signed call has no credentials to sign with.</summary>
    public void RequireCredentials()
    {
        if (_accessKey.Length == 0 || _secretKey.Length == 0)
            throw new CliException(ExitCodes.Usage, "--endpoint needs the credentials of an access key with the admin grant in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.");
    }

    /// <summary>A signed call.</summary>
    public Task<T> SendAsync<T>(string method, string path, object? body, CancellationToken ct)
    {
        RequireCredentials();
        return SendAsync<T>(method, path, body, signed: true, ct);
    }

    /// <summary>A call without signature (unseal, seal status).</summary>
    public Task<T> SendUnsignedAsync<T>(string method, string path, object? body, CancellationToken ct) =>
        SendAsync<T>(method, path, body, signed: false, ct);

    private async Task<T> SendAsync<T>(string method, string path, object? body, bool signed, CancellationToken ct)
    {
        var bytes = body is null ? [] : JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), AdminJson.Options);
        var headers = new Dictionary<string, string>
        {
            ["host"] = _endpoint.Authority,
            ["x-amz-date"] = SigV4ClientSigner.Timestamp(DateTimeOffset.UtcNow),
        };
        if (body is not null) headers["content-type"] = AdminJson.ContentType;
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(_endpoint, path));
        if (signed)
        {
            var authorization = SigV4ClientSigner.Authorization(method, path, headers, bytes, _accessKey, _secretKey, _region, AdminApi.Service);
            request.Headers.TryAddWithoutValidation("x-amz-date", headers["x-amz-date"]);
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        if (body is not null)
        {
            request.Content = new ByteArrayContent(bytes);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(AdminJson.ContentType);
        }
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new CliException(ExitCodes.Failure, $"cannot reach the admin API at {_endpoint}: {e.Message}");
        }
        using (response)
        {
            var text = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
                return JsonSerializer.Deserialize<T>(text, AdminJson.Options)
                    ?? throw new CliException(ExitCodes.Failure, $"the admin API at {_endpoint} answered an empty body.");
            AdminErrorBody? error = null;
            try
            {
                error = JsonSerializer.Deserialize<AdminErrorBody>(text, AdminJson.Options);
            }
            catch (JsonException)
            {
                // Not the admin API (a proxy, an older server): reported by status below.
            }
            var message = error?.Message ?? $"the server at {_endpoint} answered HTTP {(int)response.StatusCode} to {method} {path}; is it a Coffre server with the admin API?";
            throw new CliException(ExitCodeFor(error?.Code), message);
        }
    }

    private static int ExitCodeFor(string? code) => Enum.TryParse<AdminError>(code, out var e) ? e switch
    {
        AdminError.Unauthenticated => ExitCodes.AuthenticationFailed,
        AdminError.AccessDenied => ExitCodes.AccessDenied,
        AdminError.NotFound => ExitCodes.NotFound,
        AdminError.Conflict => ExitCodes.Conflict,
        AdminError.InvalidRequest => ExitCodes.Usage,
        AdminError.UnsealRefused => ExitCodes.AuthenticationFailed,
        AdminError.Sealed => ExitCodes.Sealed,
        _ => ExitCodes.Failure,
    } : ExitCodes.Failure;

    public void Dispose() => _http.Dispose();
}
