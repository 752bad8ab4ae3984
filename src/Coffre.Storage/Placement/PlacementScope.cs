namespace Coffre.Storage.Placement;

/// <summary>
/// The bucket a request works on, for <see cref="PlacementBlobStore"/>: blob keys (<c>objects/{random}</c>) do not name
/// their bucket, and the object store hands the blob store no bucket, so the S3 face states it around each request.
/// Writes outside any scope (rewrap sidecars, audit checkpoints, background jobs) are placed by their key
/// (see <see cref="PlacementBlobStore"/>). Once the catalog records each blob's copies, this can go.
/// </summary>
public static class PlacementScope
{
    private static readonly AsyncLocal<string?> Current = new();

    public static string? Bucket => Current.Value;

    /// <summary>Sets the bucket for the calling flow until the result is disposed.</summary>
    public static Restore Enter(string? bucket)
    {
        var previous = Current.Value;
        Current.Value = bucket;
        return new Restore(previous);
    }

    public readonly struct Restore(string? previous) : IDisposable
    {
        public void Dispose() => Current.Value = previous;
    }
}
