namespace Coffre.Kms.Access;

/// <summary>
/// An access key as stored. The secret is kept only wrapped by the root key (<see cref="WrappedSecret"/>, bound to
/// the id, the revision and the grants, so an edited row does not unwrap); it is null once the key is revoked.
/// <see cref="Revision"/> counts the changes (1 at creation) and lets writers detect a concurrent change.
/// </summary>
public sealed record AccessKeyRecord(
    string AccessKeyId,
    string? Description,
    AccessGrants Grants,
    byte[]? WrappedSecret,
    DateTimeOffset Created,
    string CreatedBy,
    DateTimeOffset Updated,
    DateTimeOffset? Revoked,
    long Revision)
{
    public override string ToString() => $"AccessKeyRecord({AccessKeyId} r{Revision}{(Revoked is null ? "" : ", revoked")})";
}
