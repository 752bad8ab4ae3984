namespace Coffre.Server.Observability;

/// <summary>
/// The faces a request can be counted under: the <c>face</c> label of <c>coffre_requests_total</c>.
/// A closed set, so that nothing a client sends (a credential scope's service, a path) becomes a label.
/// </summary>
public enum MetricFace
{
    S3,
    Kms,
    Admin,
    /// <summary>Google Workspace client-side encryption key service.</summary>
    Cse,
    /// <summary>Google Cloud External Key Manager.</summary>
    Ekm,
    /// <summary>The AWS KMS External Key Store proxy face.</summary>
    Xks,
    /// <summary>The Microsoft Double Key Encryption key service face.</summary>
    Dke,
    /// <summary>A request addressed to no face this server has (an unknown credential-scope service).</summary>
    Other,
}
