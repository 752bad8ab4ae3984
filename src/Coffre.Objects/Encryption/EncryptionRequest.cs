namespace Coffre.Objects.Encryption;

/// <summary>
/// What a write (PUT, copy destination, multipart upload) asks of its encryption. <see cref="Algorithm"/> is S3's
/// x-amz-server-side-encryption (null: not asked, the bucket's default encryption applies); <see cref="KeyRef"/>
/// names the key that wraps the data key; <see cref="CustomerKey"/> adds the client's key as a second key. The
/// protocol face parses it; the store decides the key and shows its choice to <see cref="Approve"/> before any data
/// key is generated (the face refuses a key the caller may not use, and answers the facts kept).
/// </summary>
public sealed record EncryptionRequest
{
    public string? Algorithm { get; init; }
    public string? KeyRef { get; init; }
    public string? Context { get; init; }
    public bool? BucketKeyEnabled { get; init; }
    public CustomerKey? CustomerKey { get; init; }

    /// <summary>Throws to refuse the choice (a key the caller may not use).</summary>
    public Func<EncryptionChoice, ValueTask>? Approve { get; init; }
}

/// <summary>The store's decision for a write: the key id that wraps the data key (<paramref name="IsBucketKey"/>: the
/// bucket's own key, which the bucket's write grant covers) and the facts kept with the object.</summary>
public sealed record EncryptionChoice(string KeyId, bool IsBucketKey, ObjectEncryption Facts);
