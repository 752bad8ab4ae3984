using Coffre.Objects.Catalog;
using Coffre.Objects.Encryption;

namespace Coffre.Objects;

/// <summary>Server-side-encryption requests: which key wraps a new object's data key, and the second key a reader must bring.</summary>
public sealed partial class ObjectStore
{
    // ---------------- bucket default encryption ----------------

    /// <summary>Sets (or, with null, removes) what writes that ask for nothing get; a named key is resolved to its id now.</summary>
    public async Task PutBucketEncryptionAsync(string bucketName, BucketEncryption? encryption, CancellationToken ct = default)
    {
        var bucket = await RequireBucketAsync(bucketName, ct).ConfigureAwait(false);
        if (encryption?.KeyId is { } keyRef) encryption = encryption with { KeyId = ResolveWriteKey(keyRef) };
        await catalog.SetBucketEncryptionAsync(bucket.Name, encryption, ct).ConfigureAwait(false);
    }

    /// <summary>The bucket's default encryption; null when none was set (writes then use the bucket's key).</summary>
    public async Task<BucketEncryption?> GetBucketEncryptionAsync(string bucketName, CancellationToken ct = default)
    {
        var bucket = await RequireBucketAsync(bucketName, ct).ConfigureAwait(false);
        return await catalog.GetBucketEncryptionAsync(bucket.Name, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The key a write is wrapped under and the facts kept with the object. A key named by the request wins; an
    /// SSE-KMS request without one, or a request without SSE headers, takes the bucket's default encryption;
    /// SSE-S3 (AES256) and everything else take the bucket's own key.
    /// </summary>
    public async Task<(string KeyId, ObjectEncryption Facts)> PlanEncryptionAsync(BucketRecord bucket, EncryptionRequest? request, CancellationToken ct = default)
    {
        var configured = await catalog.GetBucketEncryptionAsync(bucket.Name, ct).ConfigureAwait(false);
        var asked = request?.Algorithm;
        var keyId = request?.KeyRef is { } named ? ResolveWriteKey(named)
            : asked is null or ObjectEncryption.Kms && configured?.KeyId is { } defaultKey ? defaultKey
            : bucket.KeyId;
        var facts = new ObjectEncryption
        {
            Algorithm = asked ?? configured?.Algorithm ?? ObjectEncryption.Kms,
            BucketKeyEnabled = request?.BucketKeyEnabled ?? configured?.BucketKeyEnabled ?? false,
            Context = request?.Context,
        };
        if (request?.CustomerKey is { } customer)
        {
            var (salt, hmac) = CustomerKeyCheck.Create(customer);
            facts = facts with { CustomerKeySalt = salt, CustomerKeyHmac = hmac };
        }
        if (request?.Approve is { } approve) await approve(new EncryptionChoice(keyId, keyId == bucket.KeyId, facts)).ConfigureAwait(false);
        return (keyId, facts);
    }

    private string ResolveWriteKey(string keyRef)
    {
        try
        {
            return KeyCall(() => keys.ResolveKeyId(keyRef));
        }
        catch (ObjectStoreException e) when (e.Error == ObjectError.KeyInvalidState)
        {
            throw new ObjectStoreException(ObjectError.KeyNotFound, $"The key '{keyRef}' does not exist: name an existing key id, alias or ARN.", e);
        }
    }

    /// <summary>The key the object's streams are encrypted under, once the customer key (if any) is checked against the object's.</summary>
    private static byte[] OpenContentKey(ObjectMetadata metadata, ReadOnlySpan<byte> dataKey, CustomerKey? customerKey, string name)
    {
        var facts = metadata.Encryption;
        if (facts?.HasCustomerKey == true)
        {
            if (customerKey is null)
                throw new ObjectStoreException(ObjectError.CustomerKeyMissing,
                    $"The object '{name}' was stored with a customer-provided key (SSE-C): send that key in the x-amz-server-side-encryption-customer-* headers.");
            if (!CustomerKeyCheck.Matches(facts, customerKey))
                throw new ObjectStoreException(ObjectError.CustomerKeyMismatch, $"The customer-provided key is not the one the object '{name}' was stored with.");
        }
        else if (customerKey is not null)
        {
            throw new ObjectStoreException(ObjectError.CustomerKeyNotApplicable,
                $"The encryption parameters are not applicable to this object: '{name}' was stored without a customer-provided key.");
        }
        return ContentKey.Derive(dataKey, customerKey, facts?.Context);
    }
}
