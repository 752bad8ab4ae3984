using Coffre.Server.Tokens;

namespace Coffre.Server.Dke;

/// <summary>
/// The "Coffre:Dke" section: the Microsoft Double Key Encryption key service face (docs/hyok.md). Off unless
/// <see cref="Url"/> is set. Its key URL, as entered in a Microsoft Purview sensitivity label, is {Url}/{key name}.
/// </summary>
public sealed class DkeOptions
{
    /// <summary>The public URL of the service as clients reach it, e.g. https://dke.example.org/dke: its path is the route
    /// prefix on this server, and it begins every key id (kid) the service publishes.</summary>
    public string? Url { get; set; }

    /// <summary>Issuers of the bearer tokens Office clients send (the organisation's Entra ID tenant), with the audience
    /// (the service's application ID URI) and JWKS of each.</summary>
    public List<TokenIssuerOptions> Issuers { get; set; } = [];

    /// <summary>How long a client may keep a public key before fetching it again (the answer's cache.exp).</summary>
    public TimeSpan PublicKeyCacheLifetime { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Key name (the last segment of the key URL) → the Coffre RSA key (ENCRYPT_DECRYPT) and who may decrypt with it.</summary>
    public Dictionary<string, DkeKeyOptions> Keys { get; set; } = new(StringComparer.Ordinal);

    public bool Enabled => Url is not null;

    /// <summary>The path of <see cref="Url"/>: where this face's routes live.</summary>
    public string PathPrefix => Uri.TryCreate(Url, UriKind.Absolute, out var u) ? u.AbsolutePath.TrimEnd('/') : "";

    public IEnumerable<string> Problems()
    {
        if (!Enabled) yield break;
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var url) || url.Scheme is not ("https" or "http") || url.Query.Length > 0)
            yield return $"Url: '{Url}' is not an https:// URL such as https://dke.example.org/dke.";
        else if (PathPrefix.Length < 2)
            yield return $"Url: '{Url}' has no path: give one (e.g. /dke), since S3 shares the listener and owns the root.";
        if (Issuers.Count == 0) yield return "Issuers: at least one issuer of the clients' bearer tokens (the Entra ID tenant) is required.";
        for (var i = 0; i < Issuers.Count; i++)
            foreach (var problem in Issuers[i].Problems()) yield return $"Issuers:{i}:{problem}";
        if (PublicKeyCacheLifetime <= TimeSpan.Zero) yield return "PublicKeyCacheLifetime: must be positive (e.g. 1.00:00:00).";
        if (Keys.Count == 0) yield return "Keys: no key is exposed.";
        foreach (var (name, key) in Keys)
        {
            if (name.Length == 0 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
                yield return $"Keys:{name}: the name is not letters, digits, '-', '_' or '.'.";
            if (string.IsNullOrWhiteSpace(key.Key)) yield return $"Keys:{name}:Key: names no Coffre key (an RSA key: coffre key create --spec RSA_2048).";
            if (key.AuthorizedEmails.Count == 0 && key.AuthorizedRoles.Count == 0)
                yield return $"Keys:{name}: list AuthorizedEmails or AuthorizedRoles (nobody could decrypt).";
        }
    }
}

/// <summary>One key of the DKE face. A caller may decrypt when its token's email is listed or it holds a listed role.</summary>
public sealed class DkeKeyOptions
{
    /// <summary>The Coffre key (name, alias or id): an RSA key for ENCRYPT_DECRYPT.</summary>
    public string Key { get; set; } = "";

    /// <summary>Email addresses (the token's email, upn or preferred_username claim, compared case-insensitively).</summary>
    public List<string> AuthorizedEmails { get; set; } = [];

    /// <summary>Roles (the token's roles claim, Entra ID app roles) that may decrypt.</summary>
    public List<string> AuthorizedRoles { get; set; } = [];
}
