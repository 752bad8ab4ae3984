namespace Coffre.Storage;

/// <summary>
/// A flat blob store: the seam between Coffre's object catalog and a physical backend
/// (local disk, any S3-compatible service). Coffre chooses the keys; the bodies are ciphertext;
/// metadata holds small ASCII strings (wrapped data key, key id, version...), set when a blob is
/// put and never changed in place. See docs/storage.md for the full contract.
/// </summary>
public interface IBlobStore
{
    /// <summary>Short, stable name for logs and diagnostics (e.g. "local", "s3-ovh-gra").</summary>
    string Name { get; }

    /// <summary>Human-readable description of where blobs go (never contains secrets).</summary>
    string Describe();

    /// <summary>
    /// True when the backend itself checks every write against a digest sent with the body (S3: Content-MD5) and refuses
    /// a mismatch, so that a put that succeeded stored exactly the bytes given: a copy needs no read-back to be verified.
    /// </summary>
    bool ChecksWrites => false;

    /// <summary>
    /// Stores <paramref name="content"/> under <paramref name="key"/>, replacing any existing blob atomically:
    /// a concurrent reader sees either the previous blob (body and metadata) or the whole new one.
    /// The stream is read once, front to back; it need not be seekable. When <paramref name="length"/>
    /// is given, the stream must yield exactly that many bytes (otherwise the put fails and nothing changes).
    /// </summary>
    Task PutAsync(string key, Stream content, long? length, IReadOnlyDictionary<string, string> metadata,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens the blob for reading from <paramref name="offset"/>; <paramref name="length"/> null means "to the end"
    /// and is clamped at the end of the blob. The range is read from the backend (no read-and-skip).
    /// The caller must dispose the result. Throws <see cref="BlobNotFoundException"/> when the blob does not exist
    /// and <see cref="ArgumentOutOfRangeException"/> when offset is past the end.
    /// </summary>
    Task<BlobReadResult> GetAsync(string key, long offset = 0, long? length = null,
        CancellationToken cancellationToken = default);

    /// <summary>Length and metadata of the blob, or null when it does not exist.</summary>
    Task<BlobInfo?> HeadAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Deletes the blob; deleting a missing blob is not an error.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Every blob whose key starts with <paramref name="prefix"/> (ordinal). Order is backend-defined.</summary>
    IAsyncEnumerable<BlobListEntry> ListAsync(string prefix = "", CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes what an interrupted write (a crash, a kill) can leave behind and no blob refers to, once older than
    /// <paramref name="minimumAge"/>, so that a write still in flight is never touched. Backends that leave nothing do nothing.
    /// </summary>
    Task<BlobRecoveryReport> RecoverAsync(TimeSpan minimumAge, CancellationToken cancellationToken = default) =>
        Task.FromResult(new BlobRecoveryReport(0, 0));
}

/// <summary>What <see cref="IBlobStore.RecoverAsync"/> removed: temporary files, and bodies no record points to.</summary>
public sealed record BlobRecoveryReport(int TempFilesDeleted, int OrphanBodiesDeleted);

/// <summary>Length and metadata of a stored blob.</summary>
public sealed record BlobInfo(string Key, long Length, IReadOnlyDictionary<string, string> Metadata);

/// <summary>One entry of <see cref="IBlobStore.ListAsync"/>.</summary>
public readonly record struct BlobListEntry(string Key, long Length);

/// <summary>
/// An open read of (part of) a blob. <see cref="Content"/> yields exactly <see cref="Length"/> bytes starting at
/// <see cref="Offset"/>; <see cref="TotalLength"/> is the length of the whole blob. Dispose it to release the
/// file handle or HTTP connection.
/// </summary>
public sealed class BlobReadResult : IDisposable, IAsyncDisposable
{
    private readonly IDisposable? _owner;

    public BlobReadResult(string key, Stream content, long offset, long length, long totalLength,
        IReadOnlyDictionary<string, string> metadata, IDisposable? owner = null)
    {
        Key = key;
        Content = content;
        Offset = offset;
        Length = length;
        TotalLength = totalLength;
        Metadata = metadata;
        _owner = owner;
    }

    public string Key { get; }
    public Stream Content { get; }
    public long Offset { get; }
    public long Length { get; }
    public long TotalLength { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public void Dispose()
    {
        Content.Dispose();
        _owner?.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await Content.DisposeAsync().ConfigureAwait(false);
        _owner?.Dispose();
    }
}

public enum BlobStoreError
{
    /// <summary>The blob does not exist.</summary>
    NotFound,
    /// <summary>The stream did not yield the announced length.</summary>
    LengthMismatch,
    /// <summary>The backend's stored state is inconsistent (e.g. a body file missing under its metadata).</summary>
    Corrupt,
    /// <summary>The backend refused the request (a 4xx other than not-found: credentials, a missing bucket); fix its configuration.</summary>
    Backend,
    /// <summary>
    /// The backend could not be reached, did not answer within its deadline, or answered with a server error (5xx):
    /// an outage, not lost data; the same request may succeed later.
    /// </summary>
    Unavailable,
    /// <summary>
    /// This gateway's own bound on memory was reached (every part buffer of the backend stayed in use for its wait): too
    /// many concurrent uploads, not an outage of the backend; the same request may succeed once others finish.
    /// </summary>
    Busy,
}

public class BlobStoreException : Exception
{
    public BlobStoreException(BlobStoreError error, string store, string? key, string message, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
        Store = store;
        Key = key;
    }

    public BlobStoreError Error { get; }
    public string Store { get; }
    public string? Key { get; }
}

public sealed class BlobNotFoundException : BlobStoreException
{
    public BlobNotFoundException(string store, string key, Exception? inner = null)
        : base(BlobStoreError.NotFound, store, key, $"Blob not found in store '{store}': {BlobKeys.ForDisplay(key)}", inner)
    {
    }
}
