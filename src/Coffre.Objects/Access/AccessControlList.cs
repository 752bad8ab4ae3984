using System.Text.Json;
using System.Text.Json.Serialization;

namespace Coffre.Objects.Access;

/// <summary>An S3 ACL permission (what a grant allows).</summary>
public enum AclPermission { Read, Write, ReadAcp, WriteAcp, FullControl }

/// <summary>
/// Who a grant names: a canonical user (<see cref="Id"/>: the deployment's account id for the owner, an access key id
/// for a key) or one of S3's predefined groups (<see cref="Uri"/>).
/// </summary>
public sealed record AclGrantee(string? Id = null, string? Uri = null);

public sealed record AclGrant(AclGrantee Grantee, AclPermission Permission);

/// <summary>
/// An S3 access control list of a bucket or an object version. Every bucket and object is owned by the deployment's
/// account, so <see cref="OwnerId"/> is its account id. ACL grants widen nothing for access keys (their grants are the
/// outer limit): they matter for anonymous requests (<see cref="AllUsers"/>), and are shown to clients.
/// </summary>
public sealed record AccessControlList(string OwnerId, IReadOnlyList<AclGrant> Grants)
{
    /// <summary>The bucket setting holding a bucket's ACL (<see cref="Catalog.IBucketSettingsCatalog"/>).</summary>
    public const string Setting = "acl";

    public const string AllUsers = "http://acs.amazonaws.com/groups/global/AllUsers";
    public const string AuthenticatedUsers = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
    public const string LogDelivery = "http://acs.amazonaws.com/groups/s3/LogDelivery";
    public static readonly IReadOnlyList<string> Groups = [AllUsers, AuthenticatedUsers, LogDelivery];

    /// <summary>S3's canned ACLs, by the name x-amz-acl gives.</summary>
    public static readonly IReadOnlyList<string> CannedNames =
    [
        "private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read", "bucket-owner-read",
        "bucket-owner-full-control", "log-delivery-write",
    ];

    /// <summary>The ACL every bucket and object has until one is set: the owner's full control.</summary>
    public static AccessControlList Private(string ownerId) => new(ownerId, [new AclGrant(new AclGrantee(Id: ownerId), AclPermission.FullControl)]);

    /// <summary>
    /// A canned ACL's grants, as S3 documents them; null for an unknown name. The object owner and the bucket owner are
    /// the same account here, so bucket-owner-read and bucket-owner-full-control are the owner's full control, and
    /// aws-exec-read has no EC2 to grant read to.
    /// </summary>
    public static AccessControlList? Canned(string name, string ownerId)
    {
        var owner = new AclGrant(new AclGrantee(Id: ownerId), AclPermission.FullControl);
        AclGrant Group(string uri, AclPermission p) => new(new AclGrantee(Uri: uri), p);
        IReadOnlyList<AclGrant>? grants = name switch
        {
            "private" or "aws-exec-read" or "bucket-owner-read" or "bucket-owner-full-control" => [owner],
            "public-read" => [owner, Group(AllUsers, AclPermission.Read)],
            "public-read-write" => [owner, Group(AllUsers, AclPermission.Read), Group(AllUsers, AclPermission.Write)],
            "authenticated-read" => [owner, Group(AuthenticatedUsers, AclPermission.Read)],
            "log-delivery-write" => [owner, Group(LogDelivery, AclPermission.Write), Group(LogDelivery, AclPermission.ReadAcp)],
            _ => null,
        };
        return grants is null ? null : new AccessControlList(ownerId, grants);
    }

    /// <summary>Public, as S3 judges an ACL: it grants something to all users or to all authenticated users.</summary>
    public bool IsPublic => Grants.Any(g => g.Grantee.Uri is AllUsers or AuthenticatedUsers);

    /// <summary>Whether the ACL grants <paramref name="permission"/> (or full control) to everyone, anonymous requests included.</summary>
    public bool AllowsAllUsers(AclPermission permission) =>
        Grants.Any(g => g.Grantee.Uri == AllUsers && (g.Permission == permission || g.Permission == AclPermission.FullControl));

    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() }, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static AccessControlList FromJson(string json) =>
        JsonSerializer.Deserialize<AccessControlList>(json, Json) ?? throw new InvalidDataException("An ACL record is empty.");
}
