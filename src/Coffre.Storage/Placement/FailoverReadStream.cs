namespace Coffre.Storage.Placement;

/// <summary>
/// The body of a blob read through <see cref="PlacementBlobStore"/>: when the backend serving it fails or stalls past
/// <see cref="PlacementBlobStore.ReadTimeout"/>, the rest of the range is opened on the next copy, from the byte where
/// the first stopped, and the reader sees one uninterrupted body. Copies hold the same ciphertext, so any copy can
/// continue another; a copy of another length is refused.
/// </summary>
internal sealed class FailoverReadStream : ForwardReadStream
{
    private readonly PlacementBlobStore _store;
    private readonly string _key;
    private readonly IReadOnlyList<string> _order;
    private readonly HashSet<string> _failed = new(StringComparer.Ordinal);
    private readonly long _offset;
    private readonly long _totalLength;
    private BlobReadResult _current;
    private string _backend;

    public FailoverReadStream(PlacementBlobStore store, string key, BlobReadResult first, string backend, IReadOnlyList<string> order)
        : base(first.Length)
    {
        _store = store;
        _key = key;
        _current = first;
        _backend = backend;
        _order = order;
        _offset = first.Offset;
        _totalLength = first.TotalLength;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Length == 0 || Delivered >= Length) return 0;
        while (true)
        {
            Exception failure;
            using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                deadline.CancelAfter(_store.ReadTimeout);
                try
                {
                    var n = await _current.Content.ReadAsync(buffer, deadline.Token).ConfigureAwait(false);
                    if (n > 0 || Delivered == Length)
                    {
                        Delivered += n;
                        return n;
                    }
                    failure = new EndOfStreamException($"backend '{_backend}' ended the body after {Delivered} of {Length} bytes");
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is IOException or OperationCanceledException
                    or BlobStoreException or HttpRequestException or ObjectDisposedException)
                {
                    failure = e is OperationCanceledException ? new TimeoutException($"backend '{_backend}' sent nothing for {_store.ReadTimeout}") : e;
                }
            }
            await FailOverAsync(failure, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task FailOverAsync(Exception failure, CancellationToken ct)
    {
        _store.Health.Failed(_backend, $"reading {BlobKeys.ForDisplay(_key)}: {failure.Message}");
        _failed.Add(_backend);
        await _current.DisposeAsync().ConfigureAwait(false);
        BlobReadResult next;
        string backend;
        try
        {
            (next, backend) = await _store.OpenAsync(_key, _offset + Delivered, Length - Delivered, _order, _failed, ct).ConfigureAwait(false);
        }
        catch (BlobStoreException e)
        {
            throw new BlobStoreException(BlobStoreError.Unavailable, _store.Name, _key,
                $"Reading {BlobKeys.ForDisplay(_key)} failed on '{_backend}' ({failure.Message}) and no other copy could continue it: {e.Message}", e);
        }
        if (next.TotalLength != _totalLength)
        {
            await next.DisposeAsync().ConfigureAwait(false);
            throw new BlobStoreException(BlobStoreError.Corrupt, _store.Name, _key,
                $"The copy of {BlobKeys.ForDisplay(_key)} on '{backend}' is {next.TotalLength} bytes, the one on '{_backend}' {_totalLength}: run `coffre repair`.");
        }
        _current = next;
        _backend = backend;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _current.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await _current.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
