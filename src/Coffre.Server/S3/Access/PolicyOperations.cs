using System.Text;
using Coffre.Objects.Access;

namespace Coffre.Server.S3.Access;

/// <summary>
/// Put/Get/DeleteBucketPolicy and GetBucketPolicyStatus. A policy is validated when it is put (MalformedPolicy with the
/// reason) and refused when it is public while the bucket's effective public access block has BlockPublicPolicy;
/// S3Authorizer evaluates it on every request.
/// </summary>
public static class PolicyOperations
{
    public static async Task PutAsync(S3Call call)
    {
        var bucket = call.RequireBucket();
        await call.Store.RequireBucketAsync(bucket, call.Aborted).ConfigureAwait(false);
        await using var body = await S3Xml.ReadBoundedAsync(call.Body, BucketPolicy.MaxBytes,
            new S3Exception(S3Error.MalformedPolicy, $"Policies must be no more than {BucketPolicy.MaxBytes} bytes."), call.Aborted).ConfigureAwait(false);
        string json;
        try
        {
            json = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(body.ToArray());
        }
        catch (DecoderFallbackException)
        {
            throw new S3Exception(S3Error.MalformedPolicy, "The policy is not UTF-8 text.");
        }
        var policy = call.Authorizer.Parse(json, bucket);
        if (policy.IsPublic && (await call.Authorizer.EffectiveBlockAsync(bucket, call.Aborted).ConfigureAwait(false)).BlockPublicPolicy)
            throw new S3Exception(S3Error.AccessDenied, "Access Denied: the bucket's public access block (BlockPublicPolicy) refuses a public policy.");
        await call.Store.SetBucketPolicyAsync(bucket, policy, call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 204;
    }

    public static async Task GetAsync(S3Call call)
    {
        var json = await PolicyTextAsync(call).ConfigureAwait(false);
        call.Response.StatusCode = 200;
        call.Response.ContentType = "application/json";
        await call.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(json), call.Aborted).ConfigureAwait(false);
    }

    /// <summary>NoSuchBucket from the store when the bucket is missing.</summary>
    public static async Task DeleteAsync(S3Call call)
    {
        await call.Store.SetBucketPolicyAsync(call.RequireBucket(), null, call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 204;
    }

    /// <summary>Whether the bucket's policy is public (S3's judgement, <see cref="BucketPolicy.IsPublic"/>); NoSuchBucketPolicy without one.</summary>
    public static async Task GetStatusAsync(S3Call call)
    {
        await PolicyTextAsync(call).ConfigureAwait(false);
        var policy = await call.Authorizer.PolicyAsync(call.RequireBucket(), call.Aborted).ConfigureAwait(false)
            ?? throw new S3Exception(S3Error.NoSuchBucketPolicy);
        await BucketOperations.WriteXml(call, "PolicyStatus", w => w.WriteElementString("IsPublic", policy.IsPublic ? "true" : "false")).ConfigureAwait(false);
    }

    private static async Task<string> PolicyTextAsync(S3Call call)
    {
        var bucket = call.RequireBucket();
        await call.Store.RequireBucketAsync(bucket, call.Aborted).ConfigureAwait(false);
        return await call.Store.GetBucketPolicyAsync(bucket, call.Aborted).ConfigureAwait(false) ?? throw new S3Exception(S3Error.NoSuchBucketPolicy);
    }
}
