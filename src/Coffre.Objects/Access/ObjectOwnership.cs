namespace Coffre.Objects.Access;

/// <summary>
/// S3 Object Ownership of a bucket. Coffre's default is <see cref="BucketOwnerPreferred"/> (ACLs enabled), where AWS's
/// default for new buckets is <see cref="BucketOwnerEnforced"/>: clients here are expected to set and read ACLs.
/// <see cref="BucketOwnerEnforced"/> disables ACLs as AWS does.
/// </summary>
public static class ObjectOwnership
{
    /// <summary>The bucket setting holding it (<see cref="Catalog.IBucketSettingsCatalog"/>).</summary>
    public const string Setting = "ownership";

    public const string BucketOwnerPreferred = "BucketOwnerPreferred";
    public const string ObjectWriter = "ObjectWriter";
    public const string BucketOwnerEnforced = "BucketOwnerEnforced";
    public const string Default = BucketOwnerPreferred;

    public static readonly IReadOnlyList<string> Values = [BucketOwnerPreferred, ObjectWriter, BucketOwnerEnforced];
}
