using System.Collections.Concurrent;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Coffre.Server.Tokens;

/// <summary>Why a token was refused: the faces map these to their own error tables.</summary>
public enum TokenProblem
{
    Missing,
    Malformed,
    UnknownIssuer,
    BadSignature,
    Expired,
    WrongAudience,
    Invalid,
}

/// <summary>A token that passed validation: its issuer, its claims (values as the JSON gave them) and its expiry.</summary>
public sealed record ValidToken(string Issuer, IReadOnlyDictionary<string, object> Claims, DateTimeOffset Expires)
{
    public string? Claim(string name) => Claims.TryGetValue(name, out var v) ? v?.ToString() : null;
}

/// <summary>A refusal of a token: what was wrong, in words that name no secret (never the token itself).</summary>
public sealed class TokenException(TokenProblem problem, string message) : Exception(message)
{
    public TokenProblem Problem { get; } = problem;
}

/// <summary>
/// Validates JSON Web Tokens from a set of trusted issuers (Microsoft.IdentityModel.JsonWebTokens): the signature with the
/// keys of the issuer the token names, <c>iss</c>, <c>aud</c>, <c>exp</c> (required) and <c>nbf</c>, with
/// <see cref="ClockSkew"/>. Only asymmetric signatures are accepted: a JWKS holds public keys.
/// </summary>
public sealed class BearerTokens
{
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(1);
    /// <summary>How long a validated token is taken from the cache at most, whatever its expiry: the bound on how long a
    /// key removed from an issuer's JWKS keeps the tokens already seen valid.</summary>
    public static readonly TimeSpan CacheLifetime = TimeSpan.FromMinutes(5);
    private const int MaxCached = 10_000;
    private readonly JsonWebTokenHandler _handler = new() { MaximumTokenSizeInBytes = 16 * 1024 };
    private readonly Dictionary<string, (TokenIssuerOptions Options, JwksSource Keys)> _issuers;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, (ValidToken Token, DateTimeOffset Until)>? _cache;

    /// <param name="cacheValidated">Keep validated tokens (in memory, until their expiry and at most <see cref="CacheLifetime"/>):
    /// for tokens a client sends again and again, as Google's CSE client does with the identity provider's. A signature
    /// verification costs as much as the rest of a key service request (docs/benchmarks.md).</param>
    public BearerTokens(IEnumerable<TokenIssuerOptions> issuers, TimeProvider time, bool cacheValidated = false)
    {
        _time = time;
        _issuers = issuers.ToDictionary(i => i.Issuer, i => (i, new JwksSource(i, time)), StringComparer.Ordinal);
        if (cacheValidated) _cache = new(StringComparer.Ordinal);
    }

    /// <param name="what">The token's name in messages ("authorization token").</param>
    public async Task<ValidToken> ValidateAsync(string? token, string what, CancellationToken cancel)
    {
        if (string.IsNullOrEmpty(token)) throw new TokenException(TokenProblem.Missing, $"The {what} is missing.");
        if (_cache is not null && _cache.TryGetValue(token, out var cached))
        {
            if (_time.GetUtcNow() <= cached.Until) return cached.Token;
            _cache.TryRemove(token, out _);
        }
        var valid = await ValidateUncachedAsync(token, what, cancel).ConfigureAwait(false);
        if (_cache is not null)
        {
            if (_cache.Count >= MaxCached) _cache.Clear(); // bounded: a flood of distinct tokens costs validations, not memory
            var until = _time.GetUtcNow() + CacheLifetime;
            _cache[token] = (valid, valid.Expires + ClockSkew < until ? valid.Expires + ClockSkew : until);
        }
        return valid;
    }

    private async Task<ValidToken> ValidateUncachedAsync(string token, string what, CancellationToken cancel)
    {
        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(token);
        }
        catch (ArgumentException)
        {
            throw new TokenException(TokenProblem.Malformed, $"The {what} is not a JSON Web Token.");
        }
        if (!_issuers.TryGetValue(jwt.Issuer ?? "", out var issuer))
            throw new TokenException(TokenProblem.UnknownIssuer, $"The {what} comes from an issuer this server does not trust ('{Short(jwt.Issuer)}').");
        var keys = await issuer.Keys.GetKeysAsync(jwt.Kid, cancel).ConfigureAwait(false);
        var result = await _handler.ValidateTokenAsync(jwt, new TokenValidationParameters
        {
            ValidIssuer = issuer.Options.Issuer,
            ValidAudience = issuer.Options.Audience,
            IssuerSigningKeys = keys,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateLifetime = true,
            ClockSkew = ClockSkew,
            ValidAlgorithms = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"],
            LifetimeValidator = (notBefore, expires, _, p) => Lifetime(notBefore, expires),
        }).ConfigureAwait(false);
        if (result.IsValid) return new ValidToken(issuer.Options.Issuer, result.Claims.AsReadOnly(), new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero));
        throw result.Exception switch
        {
            SecurityTokenExpiredException or SecurityTokenNoExpirationException =>
                new TokenException(TokenProblem.Expired, $"The {what} has expired or carries no expiry (exp)."),
            SecurityTokenNotYetValidException => new TokenException(TokenProblem.Expired, $"The {what} is not valid yet (nbf)."),
            SecurityTokenInvalidAudienceException =>
                new TokenException(TokenProblem.WrongAudience, $"The {what} is not meant for this server (aud '{Short(string.Join(",", jwt.Audiences))}')."),
            SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException or SecurityTokenInvalidAlgorithmException =>
                new TokenException(TokenProblem.BadSignature, $"The {what}'s signature does not verify with the keys of issuer '{Short(issuer.Options.Issuer)}'."),
            _ => new TokenException(TokenProblem.Invalid, $"The {what} is not valid."),
        };
    }

    /// <summary>exp required, nbf optional, both on this validator's clock (so tests can move time).</summary>
    private bool Lifetime(DateTime? notBefore, DateTime? expires)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        if (expires is null) throw new SecurityTokenNoExpirationException("no exp");
        if (expires.Value.ToUniversalTime() < now - ClockSkew) throw new SecurityTokenExpiredException("expired");
        if (notBefore is { } nbf && nbf.ToUniversalTime() > now + ClockSkew) throw new SecurityTokenNotYetValidException("not yet valid");
        return true;
    }

    private static string Short(string? s) => s is null ? "" : s.Length <= 80 ? s : s[..80] + "...";
}
