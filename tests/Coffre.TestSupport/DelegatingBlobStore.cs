using Coffre.Storage;

namespace Coffre.TestSupport;

/// <summary>
/// An <see cref="IBlobStore"/> that forwards every call to a real store: derive from it to time, gate or
/// observe one operation and leave the others as they are.
/// </summary>
public abstract class DelegatingBlobStore(IBlobStore inner) : IBlobStore
{
    protected IBlobStore Inner => inner;

    public string Name => inner.Name;
    public string Describe() => inner.Describe();

    public virtual Task PutAsync(string key, Stream content, long? length, IReadOnlyDictionary<string, string> metadata,
        CancellationToken cancellationToken = default) =>
        inner.PutAsync(key, content, length, metadata, cancellationToken);

    public virtual Task<BlobReadResult> GetAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default) =>
        inner.GetAsync(key, offset, length, cancellationToken);

    public virtual Task<BlobInfo?> HeadAsync(string key, CancellationToken cancellationToken = default) =>
        inner.HeadAsync(key, cancellationToken);

    public virtual Task DeleteAsync(string key, CancellationToken cancellationToken = default) =>
        inner.DeleteAsync(key, cancellationToken);

    public virtual IAsyncEnumerable<BlobListEntry> ListAsync(string prefix = "", CancellationToken cancellationToken = default) =>
        inner.ListAsync(prefix, cancellationToken);
}
