using Coffre.Objects.Access;

namespace Coffre.Server.S3.Access;

/// <summary>
/// Put/Get/DeletePublicAccessBlock of a bucket. GET answers what was configured (NoSuchPublicAccessBlockConfiguration
/// when nothing is, as AWS does), while what applies is <see cref="S3Authorizer.EffectiveBlockAsync"/>: all four flags
/// on when nothing is configured, or whenever the operator's Coffre:S3:BlockPublicAccess is on.
/// </summary>
public static class PublicAccessBlockOperations
{
    private const string Root = "PublicAccessBlockConfiguration";

    public static async Task PutAsync(S3Call call)
    {
        var bucket = call.RequireBucket();
        await call.Store.RequireBucketAsync(bucket, call.Aborted).ConfigureAwait(false);
        var xml = await S3Xml.ReadAsync(call.Body, 16 * 1024, 16, call.Aborted).ConfigureAwait(false);
        if (xml.Name.LocalName != Root) throw new S3Exception(S3Error.MalformedXml);
        bool Flag(string name) => xml.ChildValue(name) switch
        {
            null => false, // S3: a flag left out is false
            var v when string.Equals(v.Trim(), "true", StringComparison.OrdinalIgnoreCase) => true,
            var v when string.Equals(v.Trim(), "false", StringComparison.OrdinalIgnoreCase) => false,
            _ => throw new S3Exception(S3Error.MalformedXml, $"{name} must be true or false."),
        };
        var block = new PublicAccessBlock(Flag("BlockPublicAcls"), Flag("IgnorePublicAcls"), Flag("BlockPublicPolicy"), Flag("RestrictPublicBuckets"));
        await call.Store.SetPublicAccessBlockAsync(bucket, block, call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 200;
    }

    public static async Task GetAsync(S3Call call)
    {
        var bucket = call.RequireBucket();
        await call.Store.RequireBucketAsync(bucket, call.Aborted).ConfigureAwait(false);
        var block = await call.Store.GetPublicAccessBlockAsync(bucket, call.Aborted).ConfigureAwait(false)
            ?? throw new S3Exception(S3Error.NoSuchPublicAccessBlockConfiguration);
        static string B(bool b) => b ? "true" : "false";
        await BucketOperations.WriteXml(call, Root, w =>
        {
            w.WriteElementString("BlockPublicAcls", B(block.BlockPublicAcls));
            w.WriteElementString("IgnorePublicAcls", B(block.IgnorePublicAcls));
            w.WriteElementString("BlockPublicPolicy", B(block.BlockPublicPolicy));
            w.WriteElementString("RestrictPublicBuckets", B(block.RestrictPublicBuckets));
        }).ConfigureAwait(false);
    }

    /// <summary>NoSuchBucket from the store when the bucket is missing.</summary>
    public static async Task DeleteAsync(S3Call call)
    {
        await call.Store.SetPublicAccessBlockAsync(call.RequireBucket(), null, call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 204;
    }
}
