using Coffre.Objects.Encryption;

namespace Coffre.Server.S3;

/// <summary>
/// PutBucketEncryption, GetBucketEncryption, DeleteBucketEncryption: the key that writes asking for nothing get
/// (docs/operations.md). A bucket without a configuration answers AES256, as AWS now answers for every bucket: its
/// objects are wrapped under the bucket's own key.
/// </summary>
public static class BucketEncryptionOperations
{
    private const int MaxBytes = 64 * 1024;
    private const int MaxElements = 64;

    public static async Task PutAsync(S3Call call)
    {
        var bucket = call.RequireBucket();
        var xml = await S3Xml.ReadAsync(call.Body, MaxBytes, MaxElements, call.Aborted).ConfigureAwait(false);
        if (xml.Name.LocalName != "ServerSideEncryptionConfiguration" || xml.Children("Rule").ToList() is not [var rule])
            throw new S3Exception(S3Error.MalformedXml);
        var apply = rule.Children("ApplyServerSideEncryptionByDefault").FirstOrDefault() ?? throw new S3Exception(S3Error.MalformedXml);
        var algorithm = apply.ChildValue("SSEAlgorithm");
        var keyId = apply.ChildValue("KMSMasterKeyID") is { Length: > 0 } k ? k : null;
        if (algorithm is not (ObjectEncryption.Kms or ObjectEncryption.S3Managed)) throw new S3Exception(S3Error.MalformedXml);
        if (keyId is not null && algorithm != ObjectEncryption.Kms)
            throw new S3Exception(S3Error.InvalidArgument, "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms.");
        var bucketKey = rule.ChildValue("BucketKeyEnabled") switch
        {
            null or "false" => false,
            "true" => true,
            _ => throw new S3Exception(S3Error.MalformedXml),
        };
        string? keyRef = null;
        if (keyId is not null)
        {
            keyRef = call.Sse.KeyRef(keyId);
            await call.Sse.AuthorizeKeyAsync(call, "GenerateDataKey", keyRef).ConfigureAwait(false);
        }
        await call.Store.PutBucketEncryptionAsync(bucket, new BucketEncryption(algorithm, keyRef, bucketKey), call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 200;
    }

    public static async Task GetAsync(S3Call call)
    {
        var configured = await call.Store.GetBucketEncryptionAsync(call.RequireBucket(), call.Aborted).ConfigureAwait(false)
            ?? new BucketEncryption(ObjectEncryption.S3Managed, null, false);
        await BucketOperations.WriteXml(call, "ServerSideEncryptionConfiguration", w =>
        {
            w.WriteStartElement("Rule");
            w.WriteStartElement("ApplyServerSideEncryptionByDefault");
            w.WriteElementString("SSEAlgorithm", configured.Algorithm);
            if (configured.KeyId is { } key) w.WriteElementString("KMSMasterKeyID", call.Sse.KeyArn(key));
            w.WriteEndElement();
            w.WriteElementString("BucketKeyEnabled", configured.BucketKeyEnabled ? "true" : "false");
            w.WriteEndElement();
        }).ConfigureAwait(false);
    }

    public static async Task DeleteAsync(S3Call call)
    {
        await call.Store.PutBucketEncryptionAsync(call.RequireBucket(), null, call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 204;
    }
}
