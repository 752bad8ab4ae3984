using Coffre.Server.Tokens;

namespace Coffre.Server.Cse;

/// <summary>
/// The "Coffre:Cse" section: the Google Workspace client-side encryption key service (KACLS) face. Off unless
/// <see cref="Url"/> is set. docs/hyok.md describes each setting and the wire contract.
/// </summary>
public sealed class CseOptions
{
    /// <summary>This service's KACLS URL as configured in the Google Workspace admin console (e.g. https://kacls.example.com/v1):
    /// authorization tokens must carry it in <c>kacls_url</c>, and its path is where the endpoints are served.</summary>
    public string? Url { get; set; }

    /// <summary>The Coffre key (name, alias or id) that wraps every data key of this face.</summary>
    public string Key { get; set; } = "";

    /// <summary>Issuers of authorization tokens (Google's), with the audience and JWKS of each.</summary>
    public List<TokenIssuerOptions> AuthorizationIssuers { get; set; } = [];

    /// <summary>Issuers of authentication tokens (the organisation's identity providers).</summary>
    public List<TokenIssuerOptions> AuthenticationIssuers { get; set; } = [];

    /// <summary>
    /// The perimeter rule: perimeter id → the callers allowed in it (an address, "@domain" or "*"). A perimeter id not listed
    /// uses the entry "*" if there is one, and is refused otherwise; an empty perimeter id is looked up as "*" too. No entry at
    /// all: no perimeter rule.
    /// </summary>
    public Dictionary<string, List<string>> Perimeters { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Browser origins allowed to call the service (CORS); Google's CSE client by default.</summary>
    public List<string> AllowedOrigins { get; set; } = ["https://client-side-encryption.google.com"];

    /// <summary>Callers (address, "@domain" or "*") allowed privilegedwrap and privilegedunwrap with an authentication token alone.</summary>
    public List<string> PrivilegedUsers { get; set; } = [];

    /// <summary>Earlier URLs of this service whose wrapped keys rewrap accepts (original_kacls_url), besides <see cref="Url"/>.</summary>
    public List<string> PreviousUrls { get; set; } = [];

    /// <summary>The instance name in the status answer.</summary>
    public string Name { get; set; } = "coffre";

    public bool Enabled => Url is not null;

    /// <summary>The path the endpoints are served under: the URL's path without its trailing slash ("" for the root).</summary>
    public string PathPrefix => Uri.TryCreate(Url, UriKind.Absolute, out var u) ? u.AbsolutePath.TrimEnd('/') : "";

    /// <summary>One message per problem, each naming the setting relative to Coffre:Cse.</summary>
    public IEnumerable<string> Problems()
    {
        if (!Enabled) yield break;
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && !url.IsLoopback))
            yield return $"Url: '{Url}' is not an https:// URL (Google calls the key service over HTTPS).";
        if (string.IsNullOrWhiteSpace(Key)) yield return "Key: names no Coffre key (the key that wraps this face's data keys).";
        if (AuthorizationIssuers.Count == 0) yield return "AuthorizationIssuers: at least one issuer of authorization tokens (Google's) is required.";
        if (AuthenticationIssuers.Count == 0) yield return "AuthenticationIssuers: at least one identity provider is required.";
        for (var i = 0; i < AuthorizationIssuers.Count; i++)
            foreach (var p in AuthorizationIssuers[i].Problems()) yield return $"AuthorizationIssuers:{i}:{p}";
        for (var i = 0; i < AuthenticationIssuers.Count; i++)
            foreach (var p in AuthenticationIssuers[i].Problems()) yield return $"AuthenticationIssuers:{i}:{p}";
        foreach (var (perimeter, callers) in Perimeters)
            foreach (var c in callers)
                if (CallerPatterns.Problem(c) is { } problem) yield return $"Perimeters:{perimeter}: {problem}";
        foreach (var c in PrivilegedUsers)
            if (CallerPatterns.Problem(c) is { } problem) yield return $"PrivilegedUsers: {problem}";
        foreach (var o in AllowedOrigins)
            if (!Uri.TryCreate(o, UriKind.Absolute, out var origin) || origin.AbsolutePath != "/" || o.EndsWith('/'))
                yield return $"AllowedOrigins: '{o}' is not an origin (scheme://host[:port], no path).";
        foreach (var u in PreviousUrls)
            if (!Uri.TryCreate(u, UriKind.Absolute, out _)) yield return $"PreviousUrls: '{u}' is not a URL.";
    }
}
