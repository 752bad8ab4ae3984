using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Coffre.Kms.Audit;
using Coffre.Objects.Catalog;
using Coffre.Objects.Encryption;
using Coffre.Server.Kms;
using Microsoft.AspNetCore.Http;

namespace Coffre.Server.S3;

/// <summary>
/// S3's server-side-encryption headers (docs/operations.md, "Server-side encryption requests"): they steer Coffre's
/// encryption, never weaken it. SSE-KMS names the key that wraps the data key, under the KMS face's grants
/// (<see cref="KmsAccess"/>: GenerateDataKey to write, Decrypt to read, for any key other than the bucket's own);
/// SSE-S3 (AES256) means the bucket's key; SSE-C adds the client's key as a second key, accepted over TLS or from
/// loopback only, as AWS refuses it in clear.
/// </summary>
public sealed class ServerSideEncryption(KmsAccess access, KmsArn arns, string region)
{
    private const string Algorithm = "x-amz-server-side-encryption";
    private const string KmsKeyId = "x-amz-server-side-encryption-aws-kms-key-id";
    private const string Context = "x-amz-server-side-encryption-context";
    private const string BucketKey = "x-amz-server-side-encryption-bucket-key-enabled";
    private const string CustomerPrefix = "x-amz-server-side-encryption-customer-";
    private const string CopySourcePrefix = "x-amz-copy-source-server-side-encryption-customer-";

    /// <summary>What a write (PUT, copy destination, CreateMultipartUpload) asks; <paramref name="applied"/> receives the store's choice.</summary>
    public EncryptionRequest ReadWrite(S3Call call, Action<ObjectEncryption>? applied = null)
    {
        var algorithm = call.Header(Algorithm);
        var keyId = call.Header(KmsKeyId);
        var context = call.Header(Context);
        var customerKey = ReadCustomerKey(call, CustomerPrefix);
        if (customerKey is not null && algorithm is not null)
            throw new S3Exception(S3Error.InvalidArgument, "Server Side Encryption with Customer provided key is incompatible with the encryption method specified.");
        if (algorithm is not (null or ObjectEncryption.Kms or ObjectEncryption.S3Managed))
            throw new S3Exception(S3Error.InvalidArgument, $"The encryption method '{algorithm}' is not supported: use aws:kms or AES256.");
        if ((keyId is not null || context is not null) && algorithm != ObjectEncryption.Kms)
            throw new S3Exception(S3Error.InvalidArgument,
                "x-amz-server-side-encryption-aws-kms-key-id and -context are only valid with x-amz-server-side-encryption: aws:kms.");
        if (context is not null) CheckContext(context);
        bool? bucketKey = call.Header(BucketKey) switch
        {
            null => null,
            var v when v.Equals("true", StringComparison.OrdinalIgnoreCase) => true,
            var v when v.Equals("false", StringComparison.OrdinalIgnoreCase) => false,
            _ => throw new S3Exception(S3Error.InvalidArgument, "x-amz-server-side-encryption-bucket-key-enabled must be true or false."),
        };
        return new EncryptionRequest
        {
            Algorithm = algorithm,
            KeyRef = keyId is null ? null : KeyRef(keyId),
            Context = context,
            BucketKeyEnabled = bucketKey,
            CustomerKey = customerKey,
            Approve = async choice =>
            {
                if (!choice.IsBucketKey) await AuthorizeKeyAsync(call, "GenerateDataKey", choice.KeyId).ConfigureAwait(false);
                applied?.Invoke(choice.Facts);
            },
        };
    }

    /// <summary>The customer key of a request (SSE-C), or of its copy source; null when it carries none.</summary>
    public CustomerKey? ReadCustomerKey(S3Call call, bool copySource = false) =>
        ReadCustomerKey(call, copySource ? CopySourcePrefix : CustomerPrefix);

    /// <summary>Refuses to read an object under a key other than its bucket's unless the caller may Decrypt with it (as S3 asks kms:Decrypt).</summary>
    public async Task AuthorizeReadAsync(S3Call call, ObjectRecord record)
    {
        if (call.Access.KmsKeys.Contains(Coffre.Kms.Access.AccessGrants.Any) && KmsPermissions.Allows(call.Access.KmsOperations, "Decrypt")) return;
        var bucket = await call.Store.RequireBucketAsync(record.Bucket, call.Aborted).ConfigureAwait(false);
        if (bucket.KeyId != record.Key.KeyId) await AuthorizeKeyAsync(call, "Decrypt", record.Key.KeyId).ConfigureAwait(false);
    }

    /// <summary>The SSE answer headers, as S3 sends them on PUT, GET, HEAD, copy and multipart answers.</summary>
    public void WriteHeaders(S3Call call, string keyId, ObjectEncryption? facts, bool withContext = false)
    {
        var h = call.Response.Headers;
        if (facts?.HasCustomerKey == true)
        {
            WriteCustomerKeyHeaders(call);
            return;
        }
        var algorithm = facts?.Algorithm ?? ObjectEncryption.Kms;
        h[Algorithm] = algorithm;
        if (algorithm == ObjectEncryption.Kms) h[KmsKeyId] = arns.Key(region, keyId);
        if (facts?.BucketKeyEnabled == true) h[BucketKey] = "true";
        if (withContext && facts?.Context is { } context) h[Context] = context;
    }

    /// <summary>SSE-C's answer: the algorithm and the MD5 of the key the request carried (the key itself is never echoed).</summary>
    public static void WriteCustomerKeyHeaders(S3Call call)
    {
        call.Response.Headers[CustomerPrefix + "algorithm"] = ObjectEncryption.S3Managed;
        if (call.Header(CustomerPrefix + "key-MD5") is { } md5) call.Response.Headers[CustomerPrefix + "key-MD5"] = md5;
    }

    /// <summary>A KMS key as the KMS face names it (id, ARN, alias, alias ARN) → a key-manager reference.</summary>
    public string KeyRef(string keyId)
    {
        try
        {
            return arns.ToKeyRef(keyId, "x-amz-server-side-encryption-aws-kms-key-id");
        }
        catch (KmsFaceException e)
        {
            throw new S3Exception(S3Error.KmsNotFound, e.Message);
        }
    }

    public string KeyArn(string keyId) => arns.Key(region, keyId);

    /// <summary>Refuses, as S3 does (AccessDenied), a key the caller may not use for <paramref name="operation"/> under the KMS face's grants.</summary>
    public async Task AuthorizeKeyAsync(S3Call call, string operation, string keyId)
    {
        try
        {
            await access.CheckAsync(call.Access, call.Principal, operation, keyId, AuditFace.S3).ConfigureAwait(false);
        }
        catch (KmsFaceException e)
        {
            throw new S3Exception(e.Type == KmsErrors.AccessDenied ? S3Error.AccessDenied : S3Error.ServiceUnavailable,
                $"The caller may not use the key '{keyId}' ({operation}): grant it that key in KmsKeys, or name another key.");
        }
    }

    private static CustomerKey? ReadCustomerKey(S3Call call, string prefix)
    {
        var algorithm = call.Header(prefix + "algorithm");
        var key = call.Header(prefix + "key");
        var md5 = call.Header(prefix + "key-MD5");
        if (algorithm is null && key is null && md5 is null) return null;
        if (!call.Request.IsHttps && !(call.Http.Connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote)))
            throw new S3Exception(S3Error.InvalidRequest, "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.");
        if (algorithm is null)
            throw new S3Exception(S3Error.InvalidArgument, "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.");
        if (algorithm != ObjectEncryption.S3Managed)
            throw new S3Exception(S3Error.InvalidEncryptionAlgorithm, $"The encryption algorithm '{algorithm}' is not valid: SSE-C takes AES256.");
        if (key is null)
            throw new S3Exception(S3Error.InvalidArgument, "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.");
        if (md5 is null)
            throw new S3Exception(S3Error.InvalidArgument, "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.");
        var bytes = new byte[(key.Length + 3) / 4 * 3];
        if (!Convert.TryFromBase64String(key, bytes, out var length) || length != CustomerKey.Length)
        {
            CryptographicOperations.ZeroMemory(bytes);
            throw new S3Exception(S3Error.InvalidArgument, "The secret key was invalid for the specified algorithm.");
        }
        var exact = bytes[..length];
        CryptographicOperations.ZeroMemory(bytes);
        // MD5 here is S3's transport check of the key as typed, not a security primitive.
        if (!CryptographicOperations.FixedTimeEquals(MD5.HashData(exact), DecodeOrEmpty(md5)))
        {
            CryptographicOperations.ZeroMemory(exact);
            throw new S3Exception(S3Error.InvalidArgument, "The calculated MD5 hash of the key did not match the hash that was provided.");
        }
        return new CustomerKey(exact);
    }

    private static byte[] DecodeOrEmpty(string base64)
    {
        var buffer = new byte[(base64.Length + 3) / 4 * 3];
        return Convert.TryFromBase64String(base64, buffer, out var n) ? buffer[..n] : [];
    }

    /// <summary>S3's encryption context: base64 of a JSON object whose values are strings.</summary>
    private static void CheckContext(string context)
    {
        try
        {
            using var json = JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(context)));
            if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.EnumerateObject().All(p => p.Value.ValueKind == JsonValueKind.String))
                return;
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
        }
        throw new S3Exception(S3Error.InvalidArgument, "x-amz-server-side-encryption-context must be the base64 encoding of a JSON object of string values.");
    }
}
