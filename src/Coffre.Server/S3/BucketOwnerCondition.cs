namespace Coffre.Server.S3;

/// <summary>
/// S3's bucket owner condition: a request naming x-amz-expected-bucket-owner (or, for a copy's source,
/// x-amz-source-expected-bucket-owner) fails with 403 AccessDenied unless that account owns the bucket. In Coffre one
/// account, the deployment's, owns every bucket.
/// </summary>
public static class BucketOwnerCondition
{
    public static void Check(S3Call call, string accountId)
    {
        if (call.Bucket is not null && call.Header("x-amz-expected-bucket-owner") is { } expected && expected != accountId)
            throw new S3Exception(S3Error.AccessDenied, $"The bucket '{call.Bucket}' is not owned by account '{expected}' (x-amz-expected-bucket-owner).");
        if (call.Header("x-amz-copy-source") is not null && call.Header("x-amz-source-expected-bucket-owner") is { } source && source != accountId)
            throw new S3Exception(S3Error.AccessDenied, $"The copy source's bucket is not owned by account '{source}' (x-amz-source-expected-bucket-owner).");
    }
}
