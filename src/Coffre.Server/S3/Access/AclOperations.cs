using Coffre.Objects.Access;
using Coffre.Objects.Catalog;

namespace Coffre.Server.S3.Access;

/// <summary>
/// Get/PutBucketAcl, Get/PutObjectAcl (per version), and the ACL headers of CreateBucket, PutObject, CopyObject and
/// CreateMultipartUpload. A bucket or version without an ACL of its own has the owner's full control; a copy gets the
/// ACL its request names (or that one), never its source's, as in S3.
/// </summary>
public static class AclOperations
{
    public static async Task GetBucketAclAsync(S3Call call)
    {
        var acl = await call.Store.GetBucketAclAsync(call.RequireBucket(), call.Aborted).ConfigureAwait(false);
        await AclXml.WriteAsync(call, acl ?? AccessControlList.Private(call.Authorizer.AccountId)).ConfigureAwait(false);
    }

    public static async Task PutBucketAclAsync(S3Call call)
    {
        var bucket = call.RequireBucket();
        await call.Store.RequireBucketAsync(bucket, call.Aborted).ConfigureAwait(false);
        var acl = await ReadRequestedAsync(call, bucket).ConfigureAwait(false);
        await call.Store.SetBucketAclAsync(bucket, acl, call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 200;
    }

    public static async Task GetObjectAclAsync(S3Call call)
    {
        var record = await VersioningOperations.ReadVersionAsync(call).ConfigureAwait(false);
        var acl = await call.Store.GetObjectAclAsync(record, call.Aborted).ConfigureAwait(false);
        await AclXml.WriteAsync(call, acl ?? AccessControlList.Private(call.Authorizer.AccountId)).ConfigureAwait(false);
    }

    public static async Task PutObjectAclAsync(S3Call call)
    {
        var record = await VersioningOperations.ReadVersionAsync(call).ConfigureAwait(false);
        var acl = await ReadRequestedAsync(call, record.Bucket).ConfigureAwait(false);
        await call.Store.SetObjectAclAsync(record, acl, call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 200;
    }

    /// <summary>
    /// The ACL a write's headers ask for (checked against the bucket's ownership and public access block before any
    /// byte is stored), or null when they ask none or only the owner's full control (which every object has anyway).
    /// </summary>
    public static async Task<AccessControlList?> ReadWriteHeadersAsync(S3Call call, string bucket)
    {
        if (AclXml.FromHeaders(call, call.Authorizer.AccountId) is not { } acl) return null;
        await call.Authorizer.CheckAclAsync(bucket, acl, call.Aborted).ConfigureAwait(false);
        return acl.Grants.All(g => g.Grantee.Id == acl.OwnerId && g.Permission == AclPermission.FullControl) ? null : acl;
    }

    /// <summary>Gives a version written with ACL headers its ACL, once it is committed.</summary>
    public static Task ApplyAsync(S3Call call, ObjectRecord record, AccessControlList? acl) =>
        acl is null ? Task.CompletedTask : call.Store.SetObjectAclAsync(record, acl, CancellationToken.None);

    /// <summary>The ACL of a Put*Acl request: its headers, else its AccessControlPolicy body; checked before it is stored.</summary>
    private static async Task<AccessControlList> ReadRequestedAsync(S3Call call, string bucket)
    {
        var acl = AclXml.FromHeaders(call, call.Authorizer.AccountId);
        if (acl is null)
        {
            if (call.BodyLength is 0) throw new S3Exception(S3Error.MalformedAcl, "Send an x-amz-acl or x-amz-grant-* header, or an AccessControlPolicy body.");
            acl = await AclXml.ReadAsync(call, call.Authorizer.AccountId).ConfigureAwait(false);
        }
        await call.Authorizer.CheckAclAsync(bucket, acl, call.Aborted).ConfigureAwait(false);
        return acl;
    }
}
