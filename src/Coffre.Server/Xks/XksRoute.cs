namespace Coffre.Server.Xks;

/// <summary>The XKS proxy API operations, by the last segment of their URI.</summary>
public enum XksOperation
{
    GetKeyMetadata,
    Encrypt,
    Decrypt,
    GetHealthStatus,
}

/// <summary>
/// A request path split the XKS way: "[/prefix]/kms/xks/v1/keys/{externalKeyId}/{metadata|encrypt|decrypt}" or
/// "[/prefix]/kms/xks/v1/health". Parsing is exact (no decoding, no normalisation): AWS KMS sends these paths as
/// configured, and a path that is not one of them is InvalidUriPathException.
/// </summary>
public sealed record XksRoute(string Prefix, XksOperation Operation, string? ExternalKeyId)
{
    public const string Base = "/kms/xks/v1";

    /// <summary>Whether the path is addressed to this face at all (to route it here, before anything is checked).</summary>
    public static bool LooksLikeXks(string path) => path.Contains(Base + "/", StringComparison.Ordinal) || path.EndsWith(Base, StringComparison.Ordinal);

    public static XksRoute? Parse(string path)
    {
        var at = path.LastIndexOf(Base + "/", StringComparison.Ordinal);
        if (at < 0 || (at > 0 && path[0] != '/')) return null;
        var prefix = at == 0 ? "" : path[1..at];
        var rest = path[(at + Base.Length + 1)..];
        if (rest == "health") return new XksRoute(prefix, XksOperation.GetHealthStatus, null);
        var parts = rest.Split('/');
        if (parts is not ["keys", { Length: > 0 } id, var op]) return null;
        XksOperation? operation = op switch
        {
            "metadata" => XksOperation.GetKeyMetadata,
            "encrypt" => XksOperation.Encrypt,
            "decrypt" => XksOperation.Decrypt,
            _ => null,
        };
        return operation is { } o ? new XksRoute(prefix, o, id) : null;
    }
}
