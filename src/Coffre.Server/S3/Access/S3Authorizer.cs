using System.Collections.Concurrent;
using System.Globalization;
using Coffre.Objects;
using Coffre.Objects.Access;

namespace Coffre.Server.S3.Access;

/// <summary>
/// Where S3 access control is decided, after routing (docs/architecture.md, "S3 access control"). An access key's
/// grants stay the outer limit (S3Face checks them first): for its requests a bucket policy can only take away, with
/// an explicit Deny. An anonymous request has no grants: it is served only where the bucket's effective public access
/// block lets public ACLs and policies count, and an AllUsers ACL grant or a policy Allow to "*" covers the operation;
/// an explicit Deny wins over both.
/// </summary>
/// <param name="operatorBlocksPublicAccess"><c>Coffre:S3:BlockPublicAccess</c>: public access is something the operator turns on, not a bucket owner alone.</param>
public sealed class S3Authorizer(ObjectStore store, string accountId, bool operatorBlocksPublicAccess)
{
    /// <summary>The principal anonymous requests act as: what their audit records and their data key uses name.</summary>
    public const string AnonymousPrincipal = "anonymous";

    public string AccountId => accountId;

    private enum Scope { Bucket, Object }

    /// <summary>
    /// What an AllUsers ACL grant must allow for an anonymous request of each operation, as S3 maps ACL permissions to
    /// operations. Operations absent here (bucket configuration, bucket creation and deletion, tagging, locks) are never
    /// allowed by an ACL; a policy may still allow them, except those in <see cref="OwnerOnly"/>.
    /// </summary>
    private static readonly Dictionary<string, (Scope Scope, AclPermission Permission)> AclNeeds = new(StringComparer.Ordinal)
    {
        ["GetObject"] = (Scope.Object, AclPermission.Read),
        ["HeadObject"] = (Scope.Object, AclPermission.Read),
        ["GetObjectAcl"] = (Scope.Object, AclPermission.ReadAcp),
        ["PutObjectAcl"] = (Scope.Object, AclPermission.WriteAcp),
        ["ListObjects"] = (Scope.Bucket, AclPermission.Read),
        ["ListObjectsV2"] = (Scope.Bucket, AclPermission.Read),
        ["ListObjectVersions"] = (Scope.Bucket, AclPermission.Read),
        ["ListMultipartUploads"] = (Scope.Bucket, AclPermission.Read),
        ["HeadBucket"] = (Scope.Bucket, AclPermission.Read),
        ["GetBucketAcl"] = (Scope.Bucket, AclPermission.ReadAcp),
        ["PutBucketAcl"] = (Scope.Bucket, AclPermission.WriteAcp),
        ["PutObject"] = (Scope.Bucket, AclPermission.Write),
        ["CopyObject"] = (Scope.Bucket, AclPermission.Write),
        ["DeleteObject"] = (Scope.Bucket, AclPermission.Write),
        ["DeleteObjects"] = (Scope.Bucket, AclPermission.Write),
        ["CreateMultipartUpload"] = (Scope.Bucket, AclPermission.Write),
        ["UploadPart"] = (Scope.Bucket, AclPermission.Write),
        ["UploadPartCopy"] = (Scope.Bucket, AclPermission.Write),
        ["CompleteMultipartUpload"] = (Scope.Bucket, AclPermission.Write),
        ["AbortMultipartUpload"] = (Scope.Bucket, AclPermission.Write),
        ["ListParts"] = (Scope.Bucket, AclPermission.Write),
    };

    /// <summary>
    /// Operations no anonymous request may make, whatever a policy says: who may change a bucket's access control,
    /// configuration or existence is decided by the operator's access-key grants alone (the bucket's write grant).
    /// </summary>
    private static readonly HashSet<string> OwnerOnly = new(StringComparer.Ordinal)
    {
        "ListBuckets", "CreateBucket", "DeleteBucket", "PutBucketPolicy", "DeleteBucketPolicy", "PutPublicAccessBlock", "DeletePublicAccessBlock",
        "PutBucketOwnershipControls", "DeleteBucketOwnershipControls", "PutBucketVersioning", "PutBucketEncryption", "DeleteBucketEncryption",
        "PutBucketTagging", "DeleteBucketTagging", "PutObjectLockConfiguration", "PutBucketLifecycleConfiguration", "DeleteBucketLifecycle",
        "PutObjectRetention", "PutObjectLegalHold",
    };

    /// <summary>Parsed policies by bucket, kept while the stored text is unchanged: a request does not parse JSON again.</summary>
    private readonly ConcurrentDictionary<string, BucketPolicy> _policies = new(StringComparer.Ordinal);

    /// <summary>Decides an S3 request after routing; throws AccessDenied (or NoSuchBucket for an anonymous request to a missing bucket).</summary>
    public async Task AuthorizeAsync(S3Call call, string operation)
    {
        if (call.Bucket is not { } bucket)
        {
            if (call.IsAnonymous) throw new S3Exception(S3Error.AccessDenied);
            return;
        }
        if (!call.IsAnonymous)
        {
            if (await PolicyAsync(bucket, call.Aborted).ConfigureAwait(false) is { } policy
                && policy.Evaluate(Request(call, operation, call.Key)) == PolicyDecision.Deny)
                throw new S3Exception(S3Error.AccessDenied, "Access Denied by the bucket's policy.");
            return;
        }
        if (OwnerOnly.Contains(operation)) throw new S3Exception(S3Error.AccessDenied);
        // S3 tells anyone that a bucket does not exist (404), before it judges access.
        await store.RequireBucketAsync(bucket, call.Aborted).ConfigureAwait(false);
        var block = await EffectiveBlockAsync(bucket, call.Aborted).ConfigureAwait(false);
        if (await PolicyAsync(bucket, call.Aborted).ConfigureAwait(false) is { } anonymousPolicy)
        {
            var decision = anonymousPolicy.Evaluate(Request(call, operation, call.Key));
            if (decision == PolicyDecision.Deny) throw new S3Exception(S3Error.AccessDenied);
            // RestrictPublicBuckets: a public policy serves only authorised principals, never anonymous requests.
            if (decision == PolicyDecision.Allow && !(block.RestrictPublicBuckets && anonymousPolicy.IsPublic)) return;
        }
        if (!block.IgnorePublicAcls && AclNeeds.TryGetValue(operation, out var need) && await AclsEnabledAsync(bucket, call.Aborted).ConfigureAwait(false))
        {
            var acl = need.Scope == Scope.Bucket
                ? await store.GetBucketAclAsync(bucket, call.Aborted).ConfigureAwait(false)
                : await ObjectAclAsync(call).ConfigureAwait(false);
            if (acl?.AllowsAllUsers(need.Permission) == true) return;
        }
        throw new S3Exception(S3Error.AccessDenied);
    }

    /// <summary>One object of a multi-object request (DeleteObjects): a policy Deny on its key refuses that key alone.</summary>
    public async Task AuthorizeObjectAsync(S3Call call, string operation, string key, bool versioned)
    {
        if (await PolicyAsync(call.RequireBucket(), call.Aborted).ConfigureAwait(false) is { } policy
            && policy.Evaluate(Request(call, operation, key, versioned)) == PolicyDecision.Deny)
            throw new S3Exception(S3Error.AccessDenied, "Access Denied by the bucket's policy.");
    }

    /// <summary>The public access block that applies to the bucket: the operator's switch, else the bucket's own, else all on.</summary>
    public async Task<PublicAccessBlock> EffectiveBlockAsync(string bucket, CancellationToken ct) =>
        PublicAccessBlock.Effective(await store.GetPublicAccessBlockAsync(bucket, ct).ConfigureAwait(false), operatorBlocksPublicAccess);

    /// <summary>
    /// Refuses an ACL a client is setting (PutBucketAcl, PutObjectAcl, x-amz-acl and x-amz-grant-* on CreateBucket, PUT,
    /// copy and CreateMultipartUpload) as S3 does: AccessControlListNotSupported when the bucket's ownership is
    /// BucketOwnerEnforced and the ACL is more than the owner's full control, AccessDenied when it is public and the
    /// effective public access block has BlockPublicAcls.
    /// </summary>
    public async Task CheckAclAsync(string bucket, AccessControlList acl, CancellationToken ct)
    {
        if (!await AclsEnabledAsync(bucket, ct).ConfigureAwait(false) && acl.Grants.Any(g => g.Grantee.Id != acl.OwnerId))
            throw new S3Exception(S3Error.AccessControlListNotSupported);
        if (acl.IsPublic && (await EffectiveBlockAsync(bucket, ct).ConfigureAwait(false)).BlockPublicAcls)
            throw new S3Exception(S3Error.AccessDenied, "Access Denied: the bucket's public access block (BlockPublicAcls) refuses public ACLs.");
    }

    public async Task<bool> AclsEnabledAsync(string bucket, CancellationToken ct) =>
        await store.GetObjectOwnershipAsync(bucket, ct).ConfigureAwait(false) != ObjectOwnership.BucketOwnerEnforced;

    /// <summary>The bucket's policy, parsed; null when it has none.</summary>
    public async Task<BucketPolicy?> PolicyAsync(string bucket, CancellationToken ct)
    {
        if (await store.GetBucketPolicyAsync(bucket, ct).ConfigureAwait(false) is not { } json)
        {
            _policies.TryRemove(bucket, out _);
            return null;
        }
        if (_policies.TryGetValue(bucket, out var cached) && cached.Json == json) return cached;
        var policy = Parse(json, bucket);
        _policies[bucket] = policy;
        return policy;
    }

    /// <summary>Parses a policy for the bucket (MalformedPolicy with the reason when it is not valid).</summary>
    public BucketPolicy Parse(string json, string bucket)
    {
        try
        {
            return BucketPolicy.Parse(json, bucket, accountId, S3Actions.IsAction);
        }
        catch (PolicyException e)
        {
            throw new S3Exception(S3Error.MalformedPolicy, e.Message);
        }
    }

    private async Task<AccessControlList?> ObjectAclAsync(S3Call call)
    {
        var (_, entry) = await store.GetVersionAsync(call.RequireBucket(), call.RequireKey(), call.Query("versionId"), call.Aborted).ConfigureAwait(false);
        // A delete marker has no ACL: the operation answers it (404 or 405) only once access is granted, so refuse here.
        return entry.Record is { } record ? await store.GetObjectAclAsync(record, call.Aborted).ConfigureAwait(false) : null;
    }

    private static PolicyRequest Request(S3Call call, string operation, string? key, bool? versioned = null)
    {
        var bucket = call.RequireBucket();
        var action = S3Actions.Of(operation, versioned ?? call.HasQuery("versionId"));
        return new PolicyRequest(action, S3Actions.Resource(bucket, key), call.IsAnonymous ? null : call.Principal, ConditionKeys(call));
    }

    /// <summary>The condition keys of a request (docs/operations.md lists them); a key the request does not carry is absent.</summary>
    private static Dictionary<string, IReadOnlyList<string>> ConditionKeys(S3Call call)
    {
        var now = DateTimeOffset.UtcNow;
        var keys = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase)
        {
            ["aws:SecureTransport"] = [call.Request.IsHttps ? "true" : "false"],
            ["aws:CurrentTime"] = [now.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)],
            ["aws:EpochTime"] = [now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)],
            ["aws:PrincipalType"] = [call.IsAnonymous ? "Anonymous" : "User"],
        };
        void Add(string name, string? value)
        {
            if (value is not null) keys[name] = [value];
        }
        Add("aws:SourceIp", call.Http.Connection.RemoteIpAddress is { } ip ? (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString() : null);
        if (!call.IsAnonymous)
        {
            Add("aws:username", call.Principal);
            Add("aws:userid", call.Principal);
            Add("s3:authType", call.Header("Authorization") is null ? "REST-QUERY-STRING" : "REST-HEADER");
        }
        Add("aws:Referer", call.Header("Referer"));
        Add("aws:UserAgent", call.Header("User-Agent"));
        Add("s3:prefix", call.Query("prefix"));
        Add("s3:delimiter", call.Query("delimiter"));
        Add("s3:max-keys", call.Query("max-keys"));
        Add("s3:VersionId", call.Query("versionId"));
        Add("s3:x-amz-acl", call.Header("x-amz-acl"));
        Add("s3:x-amz-server-side-encryption", call.Header("x-amz-server-side-encryption"));
        Add("s3:x-amz-server-side-encryption-aws-kms-key-id", call.Header("x-amz-server-side-encryption-aws-kms-key-id"));
        Add("s3:x-amz-copy-source", call.Header("x-amz-copy-source"));
        Add("s3:x-amz-metadata-directive", call.Header("x-amz-metadata-directive"));
        Add("s3:x-amz-storage-class", call.Header("x-amz-storage-class"));
        return keys;
    }
}
