namespace Coffre.Kms.Access;

/// <summary>What may be shown of an access key: everything but its secret.</summary>
public sealed record AccessKeyInfo(
    string AccessKeyId,
    string? Description,
    AccessGrants Grants,
    DateTimeOffset Created,
    string CreatedBy,
    DateTimeOffset Updated,
    DateTimeOffset? Revoked,
    long Revision)
{
    internal static AccessKeyInfo From(AccessKeyRecord r) =>
        new(r.AccessKeyId, r.Description, r.Grants, r.Created, r.CreatedBy, r.Updated, r.Revoked, r.Revision);
}

/// <summary>An access key with its secret, returned once by create and rotate and never stored in clear.</summary>
public sealed record NewAccessKey(AccessKeyInfo Key, string SecretAccessKey)
{
    public override string ToString() => $"NewAccessKey({Key.AccessKeyId})"; // never the secret
}

/// <summary>A usable (not revoked) access key, for a server's credential lookup.</summary>
public sealed record ActiveAccessKey(string AccessKeyId, string SecretAccessKey, AccessGrants Grants)
{
    public override string ToString() => $"ActiveAccessKey({AccessKeyId})"; // never the secret
}
