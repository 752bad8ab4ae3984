namespace Coffre.Objects.Access;

/// <summary>
/// What a bucket policy is evaluated against: the S3 action, the resource ARN, who asks (an access key, or nobody for an
/// anonymous request) and the request's condition keys (by name, case-insensitive; a key absent from the request is
/// absent here). Built by the S3 face from the HTTP request; the evaluation itself knows no HTTP.
/// </summary>
public sealed record PolicyRequest(string Action, string Resource, string? AccessKeyId, IReadOnlyDictionary<string, IReadOnlyList<string>> Keys)
{
    public bool IsAnonymous => AccessKeyId is null;
}

/// <summary>A policy's verdict on one request: an explicit Deny wins over any Allow; none of its statements may apply.</summary>
public enum PolicyDecision { NotApplicable, Allow, Deny }
