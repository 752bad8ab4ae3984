using Coffre.Objects.Access;
using Coffre.Objects.Catalog;

namespace Coffre.Objects;

/// <summary>
/// S3 access control as the catalog keeps it: a bucket's ACL, policy, public access block and object ownership are
/// bucket settings; each object version may carry its own ACL. Deciding what they allow is the S3 face's (its
/// authorizer); the store only keeps them.
/// </summary>
public sealed partial class ObjectStore
{
    /// <summary>The bucket's ACL; null when none was set (the owner's full control).</summary>
    public async Task<AccessControlList?> GetBucketAclAsync(string bucket, CancellationToken ct = default) =>
        await GetSettingAsync(bucket, AccessControlList.Setting, ct).ConfigureAwait(false) is { } json ? AccessControlList.FromJson(json) : null;

    public Task SetBucketAclAsync(string bucket, AccessControlList acl, CancellationToken ct = default) =>
        SetSettingAsync(bucket, AccessControlList.Setting, acl.ToJson(), ct);

    /// <summary>The bucket's policy as it was put; null when it has none. Not checked for the bucket's existence: an
    /// authorizer asking for a missing bucket's policy gets none, and the operation itself answers NoSuchBucket.</summary>
    public Task<string?> GetBucketPolicyAsync(string bucket, CancellationToken ct = default) =>
        catalog.GetBucketSettingAsync(bucket, BucketPolicy.Setting, ct);

    public Task SetBucketPolicyAsync(string bucket, BucketPolicy? policy, CancellationToken ct = default) =>
        SetSettingAsync(bucket, BucketPolicy.Setting, policy?.Json, ct);

    /// <summary>The bucket's own public access block; null when none was configured.</summary>
    public async Task<PublicAccessBlock?> GetPublicAccessBlockAsync(string bucket, CancellationToken ct = default) =>
        await catalog.GetBucketSettingAsync(bucket, PublicAccessBlock.Setting, ct).ConfigureAwait(false) is { } json ? PublicAccessBlock.FromJson(json) : null;

    public Task SetPublicAccessBlockAsync(string bucket, PublicAccessBlock? block, CancellationToken ct = default) =>
        SetSettingAsync(bucket, PublicAccessBlock.Setting, block?.ToJson(), ct);

    /// <summary>The bucket's object ownership; null when none was set (<see cref="ObjectOwnership.Default"/> applies).</summary>
    public Task<string?> GetObjectOwnershipAsync(string bucket, CancellationToken ct = default) =>
        catalog.GetBucketSettingAsync(bucket, ObjectOwnership.Setting, ct);

    public Task SetObjectOwnershipAsync(string bucket, string? ownership, CancellationToken ct = default) =>
        SetSettingAsync(bucket, ObjectOwnership.Setting, ownership, ct);

    /// <summary>An object version's ACL; null when none was set (the owner's full control).</summary>
    public async Task<AccessControlList?> GetObjectAclAsync(ObjectRecord version, CancellationToken ct = default) =>
        await catalog.GetObjectAclAsync(version.Bucket, version.Name, version.VersionId, ct).ConfigureAwait(false) is { } json ? AccessControlList.FromJson(json) : null;

    /// <summary>Sets an object version's ACL; NoSuchVersion when the version was deleted meanwhile.</summary>
    public async Task SetObjectAclAsync(ObjectRecord version, AccessControlList acl, CancellationToken ct = default)
    {
        if (!await catalog.SetObjectAclAsync(version.Bucket, version.Name, version.VersionId, acl.ToJson(), ct).ConfigureAwait(false))
            throw new ObjectStoreException(ObjectError.NoSuchVersion,
                $"The object '{version.Name}' in bucket '{version.Bucket}' has no version '{version.VersionId}' any more (deleted meanwhile?).");
    }

    private async Task<string?> GetSettingAsync(string bucket, string name, CancellationToken ct)
    {
        await RequireBucketAsync(bucket, ct).ConfigureAwait(false);
        return await catalog.GetBucketSettingAsync(bucket, name, ct).ConfigureAwait(false);
    }

    private async Task SetSettingAsync(string bucket, string name, string? value, CancellationToken ct)
    {
        if (!await catalog.SetBucketSettingAsync(bucket, name, value, ct).ConfigureAwait(false))
            throw CatalogRules.NoSuchBucket(bucket);
    }
}
