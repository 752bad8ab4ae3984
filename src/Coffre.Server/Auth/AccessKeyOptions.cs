using Coffre.Kms.Access;

namespace Coffre.Server.Auth;

/// <summary>
/// One access key from configuration (Coffre:AccessKeys:N:...): its secret and its grants, read through the
/// same model as stored access keys (<see cref="AccessGrants"/>). Default deny: a key given only an id and a
/// secret may do nothing. <c>Buckets</c>, the setting of earlier versions, keeps its meaning (read and write on
/// those buckets); <c>KmsKeys</c> + <c>KmsOperations</c> grant <i>use</i> only, never administration.
/// </summary>
public sealed class AccessKeyOptions
{
    public string AccessKeyId { get; set; } = "";
    public string SecretAccessKey { get; set; } = "";
    public List<string> ReadBuckets { get; set; } = [];
    public List<string> WriteBuckets { get; set; } = [];
    /// <summary>Shorthand for the same names in <see cref="ReadBuckets"/> and <see cref="WriteBuckets"/>.</summary>
    public List<string> Buckets { get; set; } = [];
    public List<string> KmsKeys { get; set; } = [];
    /// <summary>Null (not set): every use operation on <see cref="KmsKeys"/>. A list, not a default value, because the
    /// configuration binder appends to a list it finds already filled.</summary>
    public List<string>? KmsOperations { get; set; }
    public List<string> KmsAdminKeys { get; set; } = [];
    public bool Admin { get; set; }
    /// <summary>Buckets where the key may lift Object Lock's GOVERNANCE retention (<see cref="AccessGrants.BypassGovernanceBuckets"/>).</summary>
    public List<string> BypassGovernanceBuckets { get; set; } = [];

    public AccessGrants ToGrants() => new()
    {
        ReadBuckets = [.. ReadBuckets.Concat(Buckets).Distinct(StringComparer.Ordinal)],
        WriteBuckets = [.. WriteBuckets.Concat(Buckets).Distinct(StringComparer.Ordinal)],
        KmsKeys = [.. KmsKeys],
        KmsOperations = KmsOperations is null ? [AccessGrants.Any] : [.. KmsOperations],
        KmsAdminKeys = [.. KmsAdminKeys],
        Admin = Admin,
        BypassGovernanceBuckets = [.. BypassGovernanceBuckets],
    };

    /// <summary>A configured key holding every grant (the root credentials; tests).</summary>
    public static AccessKeyOptions WithAllGrants(string accessKeyId, string secretAccessKey) => new()
    {
        AccessKeyId = accessKeyId,
        SecretAccessKey = secretAccessKey,
        ReadBuckets = [AccessGrants.Any],
        WriteBuckets = [AccessGrants.Any],
        KmsKeys = [AccessGrants.Any],
        KmsAdminKeys = [AccessGrants.Any],
        Admin = true,
    };
}
