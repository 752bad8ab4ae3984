namespace Coffre.Objects.Encryption;

/// <summary>
/// A bucket's default encryption (S3's PutBucketEncryption): what a write that asks for nothing gets.
/// <see cref="KeyId"/> is the key id for "aws:kms" with a named key, null for the bucket's own key.
/// </summary>
public sealed record BucketEncryption(string Algorithm, string? KeyId, bool BucketKeyEnabled);
