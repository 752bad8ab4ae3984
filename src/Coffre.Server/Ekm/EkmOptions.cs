using Coffre.Server.Tokens;

namespace Coffre.Server.Ekm;

/// <summary>
/// The "Coffre:Ekm" section: the Google Cloud External Key Manager face. Off unless <see cref="PathPrefix"/> is set.
/// A key's URI, as entered in Cloud KMS, is https://HOST{PathPrefix}/keys/{name}.
/// </summary>
public sealed class EkmOptions
{
    /// <summary>Where the key URIs live on this server, e.g. "/ekm/v0".</summary>
    public string? PathPrefix { get; set; }

    /// <summary>Issuers of the bearer tokens Cloud EKM sends (Google's), with the audience and JWKS of each.</summary>
    public List<TokenIssuerOptions> Issuers { get; set; } = [];

    /// <summary>External key name (the last segment of the key URI) → the Coffre key and the Key Access Justifications it accepts.</summary>
    public Dictionary<string, EkmKeyOptions> Keys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>What a request without a justification gets: "Refuse" (default) or "Allow" (recorded as missing).</summary>
    public string MissingJustification { get; set; } = "Refuse";

    public bool Enabled => PathPrefix is not null;

    public bool AllowMissingJustification => MissingJustification.Equals("Allow", StringComparison.OrdinalIgnoreCase);

    public IEnumerable<string> Problems()
    {
        if (!Enabled) yield break;
        if (PathPrefix is not { Length: > 1 } p || p[0] != '/' || p.EndsWith('/'))
            yield return $"PathPrefix: '{PathPrefix}' is not a path such as /ekm/v0 (it must not be the root: S3 shares the listener).";
        if (Issuers.Count == 0) yield return "Issuers: at least one issuer of Cloud EKM's bearer tokens is required.";
        for (var i = 0; i < Issuers.Count; i++)
            foreach (var problem in Issuers[i].Problems()) yield return $"Issuers:{i}:{problem}";
        if (Keys.Count == 0) yield return "Keys: no key is exposed.";
        foreach (var (name, key) in Keys)
        {
            if (name.Length == 0 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
                yield return $"Keys:{name}: the name is not letters, digits, '-', '_' or '.'.";
            if (string.IsNullOrWhiteSpace(key.Key)) yield return $"Keys:{name}:Key: names no Coffre key.";
            if (key.AllowedReasons.Count == 0) yield return $"Keys:{name}:AllowedReasons: list the justifications this key accepts (e.g. CUSTOMER_INITIATED_ACCESS).";
            foreach (var reason in key.AllowedReasons)
                if (!AccessReasons.All.Contains(reason))
                    yield return $"Keys:{name}:AllowedReasons: '{reason}' is not a Key Access Justifications reason ({string.Join(", ", AccessReasons.All)}).";
        }
        if (!MissingJustification.Equals("Refuse", StringComparison.OrdinalIgnoreCase) && !AllowMissingJustification)
            yield return $"MissingJustification: '{MissingJustification}' is not Refuse or Allow.";
    }
}

public sealed class EkmKeyOptions
{
    /// <summary>The Coffre key (name, alias or id).</summary>
    public string Key { get; set; } = "";

    /// <summary>The Key Access Justifications reasons accepted; every other reason is refused and recorded.</summary>
    public List<string> AllowedReasons { get; set; } = [];
}
