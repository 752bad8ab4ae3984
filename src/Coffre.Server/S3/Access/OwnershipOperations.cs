using Coffre.Objects.Access;

namespace Coffre.Server.S3.Access;

/// <summary>
/// Put/Get/DeleteBucketOwnershipControls. A bucket without its own answers Coffre's default, BucketOwnerPreferred
/// (ACLs enabled); BucketOwnerEnforced disables ACLs as AWS does, and is refused while the bucket's ACL grants anyone
/// but the owner (InvalidBucketAclWithObjectOwnership).
/// </summary>
public static class OwnershipOperations
{
    public static async Task PutAsync(S3Call call)
    {
        var bucket = call.RequireBucket();
        await call.Store.RequireBucketAsync(bucket, call.Aborted).ConfigureAwait(false);
        var xml = await S3Xml.ReadAsync(call.Body, 16 * 1024, 16, call.Aborted).ConfigureAwait(false);
        var rules = xml.Name.LocalName == "OwnershipControls" ? xml.Children("Rule").ToList() : [];
        if (rules.Count != 1 || rules[0].ChildValue("ObjectOwnership") is not { } ownership || !ObjectOwnership.Values.Contains(ownership))
            throw new S3Exception(S3Error.MalformedXml, $"OwnershipControls must hold one Rule whose ObjectOwnership is one of {string.Join(", ", ObjectOwnership.Values)}.");
        if (ownership == ObjectOwnership.BucketOwnerEnforced
            && await call.Store.GetBucketAclAsync(bucket, call.Aborted).ConfigureAwait(false) is { } acl && acl.Grants.Any(g => g.Grantee.Id != acl.OwnerId))
            throw new S3Exception(S3Error.InvalidBucketAclWithObjectOwnership);
        await call.Store.SetObjectOwnershipAsync(bucket, ownership, call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 200;
    }

    public static async Task GetAsync(S3Call call)
    {
        var bucket = call.RequireBucket();
        await call.Store.RequireBucketAsync(bucket, call.Aborted).ConfigureAwait(false);
        var ownership = await call.Store.GetObjectOwnershipAsync(bucket, call.Aborted).ConfigureAwait(false) ?? ObjectOwnership.Default;
        await BucketOperations.WriteXml(call, "OwnershipControls", w =>
        {
            w.WriteStartElement("Rule");
            w.WriteElementString("ObjectOwnership", ownership);
            w.WriteEndElement();
        }).ConfigureAwait(false);
    }

    /// <summary>NoSuchBucket from the store when the bucket is missing.</summary>
    public static async Task DeleteAsync(S3Call call)
    {
        await call.Store.SetObjectOwnershipAsync(call.RequireBucket(), null, call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 204;
    }
}
