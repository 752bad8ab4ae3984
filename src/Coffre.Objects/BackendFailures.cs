using Coffre.Storage;

namespace Coffre.Objects;

/// <summary>
/// What a backend failure means for an object: the one place that tells an outage (retry later) from ciphertext
/// that is missing or damaged (data lost at the provider: retrying cannot help, an operator must look).
/// </summary>
internal static class BackendFailures
{
    /// <summary>A failure while fetching part <paramref name="part"/> of an object's ciphertext.</summary>
    public static ObjectStoreException OnRead(BlobStoreException e, string bucket, string name, int part) => e.Error switch
    {
        BlobStoreError.Unavailable or BlobStoreError.Backend => Unavailable(e),
        _ => new ObjectStoreException(ObjectError.IntegrityFailure,
            $"The ciphertext of object '{name}' in bucket '{bucket}' (part {part}) is missing or damaged at backend '{e.Store}': {e.Message}", e),
    };

    /// <summary>A failure while storing a body's ciphertext.</summary>
    public static ObjectStoreException OnWrite(BlobStoreException e) => e.Error switch
    {
        // The body yielded another length than it announced (the backend counts the ciphertext it derives from it).
        BlobStoreError.LengthMismatch => new ObjectStoreException(ObjectError.InvalidArgument, "The body's length differs from the one announced.", e),
        BlobStoreError.Busy => new ObjectStoreException(ObjectError.SlowDown, e.Message, e),
        _ => Unavailable(e),
    };

    private static ObjectStoreException Unavailable(BlobStoreException e) =>
        new(ObjectError.BackendUnavailable, $"The storage backend '{e.Store}' is unavailable: {e.Message} Retry later.", e);
}
