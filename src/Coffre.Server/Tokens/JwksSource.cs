using Microsoft.IdentityModel.Tokens;

namespace Coffre.Server.Tokens;

/// <summary>
/// The signing keys of one issuer. A file is read once, at start (a key rotation is a configuration change). A URL is
/// fetched when first needed and again after <see cref="UrlRefresh"/>, or sooner (at most once a minute) when a token names
/// a key id it does not hold, which is how issuers roll keys; if a refresh fails, the keys already held stay in use.
/// </summary>
public sealed class JwksSource
{
    public static readonly TimeSpan UrlRefresh = TimeSpan.FromHours(1);
    private static readonly TimeSpan MinimumRefetch = TimeSpan.FromMinutes(1);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private readonly string? _url;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _fetch = new(1, 1);
    private volatile IList<SecurityKey> _keys;
    private DateTimeOffset _fetched = DateTimeOffset.MinValue;

    public JwksSource(TokenIssuerOptions issuer, TimeProvider time)
    {
        _time = time;
        _url = issuer.JwksUrl;
        _keys = issuer.JwksPath is { } path ? Parse(File.ReadAllText(path), path) : [];
    }

    public async ValueTask<IList<SecurityKey>> GetKeysAsync(string? keyId, CancellationToken cancel)
    {
        if (_url is null) return _keys;
        var age = _time.GetUtcNow() - _fetched;
        var unknownKid = keyId is not null && !_keys.Any(k => k.KeyId == keyId);
        if (age < UrlRefresh && !(unknownKid && age >= MinimumRefetch)) return _keys;
        await _fetch.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            if (_time.GetUtcNow() - _fetched < MinimumRefetch) return _keys;
            var json = await Http.GetStringAsync(_url, cancel).ConfigureAwait(false);
            _keys = Parse(json, _url);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or ArgumentException or InvalidOperationException && !cancel.IsCancellationRequested)
        {
            // Keep the keys held (none before the first success: every token is then refused as unverifiable).
        }
        finally
        {
            _fetched = _time.GetUtcNow();
            _fetch.Release();
        }
        return _keys;
    }

    private static IList<SecurityKey> Parse(string json, string source)
    {
        try
        {
            return new JsonWebKeySet(json).GetSigningKeys();
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"The JWKS document '{source}' is not a JSON Web Key Set: {e.Message}", e);
        }
    }
}
