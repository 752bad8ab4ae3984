namespace Coffre.Objects.Encryption;

/// <summary>
/// What an object's writer asked of its encryption, kept in the object's sealed metadata (never in the clear
/// catalog columns) and answered on every read: S3's algorithm ("aws:kms" or "AES256"), the bucket-key setting,
/// the SSE-KMS encryption context as the client sent it (bound into the content key), and for SSE-C the salted
/// HMAC of the customer key. The key that wraps the data key is the record's own key id.
/// </summary>
public sealed record ObjectEncryption
{
    public const string Kms = "aws:kms";
    public const string S3Managed = "AES256";

    public string Algorithm { get; init; } = Kms;
    public bool BucketKeyEnabled { get; init; }

    /// <summary>The x-amz-server-side-encryption-context value (base64 of a JSON object), exactly as sent.</summary>
    public string? Context { get; init; }

    public string? CustomerKeySalt { get; init; }
    public string? CustomerKeyHmac { get; init; }

    public bool HasCustomerKey => CustomerKeyHmac is not null;
}
