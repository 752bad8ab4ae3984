namespace Coffre.Server.Tokens;

/// <summary>
/// One issuer of JSON Web Tokens a face trusts: its <c>iss</c>, the <c>aud</c> its tokens must carry for this server, and
/// where its public keys (a JWKS document) are: a file (<see cref="JwksPath"/>) or an HTTPS URL (<see cref="JwksUrl"/>).
/// </summary>
public sealed class TokenIssuerOptions
{
    public string Issuer { get; set; } = "";
    public string Audience { get; set; } = "";
    public string? JwksPath { get; set; }
    public string? JwksUrl { get; set; }

    /// <summary>The problems of this entry, each as "Setting: problem" relative to the entry.</summary>
    public IEnumerable<string> Problems()
    {
        if (string.IsNullOrWhiteSpace(Issuer)) yield return "Issuer: is required (the tokens' iss claim).";
        if (string.IsNullOrWhiteSpace(Audience)) yield return "Audience: is required (the aud claim tokens carry for this server).";
        if ((JwksPath is null) == (JwksUrl is null)) yield return "JwksPath/JwksUrl: set exactly one (the issuer's public keys).";
        if (JwksPath is { } path && !File.Exists(path)) yield return $"JwksPath: there is no file '{path}'.";
        if (JwksUrl is { } url && (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme != Uri.UriSchemeHttps))
            yield return $"JwksUrl: '{url}' is not an https:// URL.";
    }
}
