namespace Coffre.Objects;

/// <summary>Every way an object operation can fail, independent of the protocol that reports it.</summary>
public enum ObjectError
{
    NoSuchBucket,
    BucketAlreadyExists,
    BucketNotEmpty,
    InvalidBucketName,
    NoSuchKey,
    /// <summary>A version id that is well formed but names no version of the object.</summary>
    NoSuchVersion,
    InvalidObjectName,
    InvalidRange,
    NoSuchUpload,
    InvalidPart,
    InvalidPartOrder,
    EntityTooSmall,
    EntityTooLarge,
    BadDigest,
    InvalidDigest,
    InvalidArgument,
    /// <summary>The object's key is disabled (reversible: enable it again).</summary>
    KeyDisabled,
    /// <summary>The object's key or key version is pending destruction, destroyed, retired, or unknown.</summary>
    KeyInvalidState,
    /// <summary>Stored ciphertext or its metadata failed authentication, or is missing at the backend: data is damaged or gone (not retryable).</summary>
    IntegrityFailure,
    /// <summary>The storage backend could not be reached, timed out, or failed: an outage, the request may be retried.</summary>
    BackendUnavailable,
    /// <summary>The gateway's bound on upload memory was reached (too many concurrent uploads): nothing was stored, retry later.</summary>
    SlowDown,
    /// <summary>The object catalog's database could not be reached or written: nothing was changed, the request may be retried.</summary>
    CatalogUnavailable,
    /// <summary>The key manager or its audit trail refused to answer.</summary>
    KeyServiceUnavailable,
    /// <summary>The key manager is sealed: no key can be used until it is unsealed (retryable).</summary>
    Sealed,
    AccessDenied,
    /// <summary>A conditional write's If-Match / If-None-Match did not hold.</summary>
    PreconditionFailed,
    /// <summary>The object was written with a customer key (SSE-C) and the request carries none.</summary>
    CustomerKeyMissing,
    /// <summary>The request's customer key is not the one the object was written with.</summary>
    CustomerKeyMismatch,
    /// <summary>The request carries a customer key for an object written without one.</summary>
    CustomerKeyNotApplicable,
    /// <summary>The key a write names does not exist.</summary>
    KeyNotFound,
    /// <summary>The key cannot make or open data keys (an RSA key): a configuration or request naming the wrong key.</summary>
    KeyInvalidUsage,
    /// <summary>Object Lock protects the version (retention or legal hold): it cannot be deleted nor its lock weakened.</summary>
    ObjectLocked,
    /// <summary>The bucket's state forbids the change (versioning of an Object Lock bucket, lock without versioning).</summary>
    InvalidBucketState,
    /// <summary>An Object Lock request on a bucket created without Object Lock.</summary>
    ObjectLockNotEnabled,
}

public sealed class ObjectStoreException(ObjectError error, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public ObjectError Error { get; } = error;
}
