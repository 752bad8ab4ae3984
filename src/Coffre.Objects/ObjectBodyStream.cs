using System.Security.Cryptography;
using Coffre.Crypto;
using Coffre.Objects.Catalog;
using Coffre.Storage;

namespace Coffre.Objects;

/// <summary>
/// The plaintext of an object's byte range, decrypted part by part as it is read. Each part is
/// fetched with one ranged backend read covering only the segments the range touches; the stream
/// header is the catalog's copy, and a full read also checks the backend's copy against it, so a
/// provider cannot substitute another or an older ciphertext. The first part can be fetched before the
/// data key is known (<see cref="StartFirstFetch"/>): it is ciphertext until <see cref="UseDataKey"/>.
/// </summary>
internal sealed class ObjectBodyStream : Stream
{
    private readonly IBlobStore _blobs;
    private readonly ObjectRecord _record;
    private byte[]? _dataKey;
    private readonly long _end;
    private long _position;
    private int _partIndex = -1;
    private long _partStart; // object offset of the current part's first byte
    private Stream? _current;
    private (int Index, long LocalStart, Task<BlobReadResult> Fetch)? _prefetch;

    public ObjectBodyStream(IBlobStore blobs, ObjectRecord record, long start, long end)
    {
        _blobs = blobs;
        _record = record;
        _position = start;
        _end = end;
    }

    /// <summary>Starts fetching the part that holds the first byte, which needs no key: the fetch then overlaps
    /// whatever comes before the key (its audit record's commit, on a GET).</summary>
    public void StartFirstFetch()
    {
        if (_position >= _end || _prefetch is not null) return;
        var (index, partStart) = PartAt(-1, 0);
        if (index >= _record.Parts.Count) return;
        var part = _record.Parts[index];
        var localStart = _position - partStart;
        _prefetch = (index, localStart, Fetch(part, localStart, Math.Min(_end - partStart, part.Size), CancellationToken.None));
    }

    /// <summary>The data key to decrypt with (copied; zeroed when the stream is disposed). Nothing is decrypted before it is given.</summary>
    public void UseDataKey(ReadOnlySpan<byte> dataKey) => _dataKey = dataKey.ToArray();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_position < _end)
        {
            if (_current is null && !await OpenNextPartAsync(cancellationToken).ConfigureAwait(false))
                break;
            var n = await _current!.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (n > 0)
            {
                _position += n;
                return n;
            }
            var expectedEnd = Math.Min(_end, _partStart + _record.Parts[_partIndex].Size);
            if (_position != expectedEnd)
                throw AuthenticationFailedException.AtSegment(-1, $"part {_record.Parts[_partIndex].Number} ended early");
            await _current.DisposeAsync().ConfigureAwait(false);
            _current = null;
        }
        return 0;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Opens the first part now, so backend and integrity errors surface before a response is started.</summary>
    public async Task PrepareAsync(CancellationToken ct)
    {
        if (_current is null && _position < _end) await OpenNextPartAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The part holding _position, searching from the one after <paramref name="after"/> (which starts at
    /// <paramref name="nextStart"/>), and its first byte's object offset.</summary>
    private (int Index, long PartStart) PartAt(int after, long nextStart)
    {
        var index = after + 1;
        while (index < _record.Parts.Count && nextStart + _record.Parts[index].Size <= _position)
        {
            nextStart += _record.Parts[index].Size;
            index++;
        }
        return (index, nextStart);
    }

    private async Task<bool> OpenNextPartAsync(CancellationToken ct)
    {
        if (_dataKey is null) throw new InvalidOperationException("Internal error: an object body was read before its data key was given.");
        var (index, partStart) = PartAt(_partIndex, _partIndex < 0 ? 0 : _partStart + _record.Parts[_partIndex].Size);
        if (index >= _record.Parts.Count) return false;
        _partIndex = index;
        _partStart = partStart;
        var part = _record.Parts[index];
        var localStart = _position - partStart;
        var localEnd = Math.Min(_end - partStart, part.Size);
        var ad = ObjectBinding.StreamAssociatedData(_record.Bucket, _record.Name, _record.Key.KeyId, part.Number);

        Task<BlobReadResult> fetch;
        if (_prefetch is { } p && p.Index == index && p.LocalStart == localStart)
            fetch = p.Fetch;
        else
        {
            DiscardPrefetch();
            fetch = Fetch(part, localStart, localEnd, ct);
        }
        _prefetch = null;
        BlobReadResult blob;
        try
        {
            blob = await fetch.ConfigureAwait(false);
        }
        catch (BlobStoreException e)
        {
            throw BackendFailures.OnRead(e, _record.Bucket, _record.Name, part.Number);
        }
        CheckLength(blob.TotalLength, part);

        // A part fetched while this one is read hides the backend's per-request latency.
        var nextStart = partStart + part.Size;
        if (index + 1 < _record.Parts.Count && nextStart < _end)
        {
            var next = _record.Parts[index + 1];
            _prefetch = (index + 1, 0, Fetch(next, 0, Math.Min(_end - nextStart, next.Size), CancellationToken.None));
        }

        if (localStart == 0 && localEnd == part.Size)
        {
            var stored = new byte[StreamFormat.HeaderSize];
            await blob.Content.ReadExactlyAsync(stored, ct).ConfigureAwait(false);
            if (!CryptographicOperations.FixedTimeEquals(stored, part.Header))
            {
                await blob.Content.DisposeAsync().ConfigureAwait(false);
                throw AuthenticationFailedException.AtHeader($"part {part.Number}'s stored header is not the one Coffre wrote");
            }
        }
        _current = DecryptingStream.ForRange(blob.Content, part.Header, part.CipherSize, _dataKey, ad, localStart, localEnd);
        return true;
    }

    /// <summary>A whole part is read from its first byte (so its stored header can be checked); a partial one only for the segments it needs.</summary>
    /// <remarks>A backend that fails synchronously fails the task instead: the error surfaces where the part is read.</remarks>
    private Task<BlobReadResult> Fetch(StoredPart part, long localStart, long localEnd, CancellationToken ct)
    {
        try
        {
            if (localStart == 0 && localEnd == part.Size)
                return _blobs.GetAsync(part.Blob, 0, null, ct);
            var plan = StreamFormat.PlanRange(part.CipherSize, part.Header[5], localStart, localEnd);
            return _blobs.GetAsync(part.Blob, plan.CiphertextOffset, plan.CiphertextLength, ct);
        }
        catch (Exception e)
        {
            return Task.FromException<BlobReadResult>(e);
        }
    }

    private void DiscardPrefetch()
    {
        if (_prefetch is not { } p) return;
        _prefetch = null;
        _ = p.Fetch.ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully) t.Result.Dispose();
            else _ = t.Exception; // observed: a failed prefetch of a part nobody reads is not an error
        }, TaskScheduler.Default);
    }

    private static void CheckLength(long stored, StoredPart part)
    {
        if (stored != part.CipherSize)
            throw new AuthenticationFailedException(CiphertextPart.Length, -1,
                $"Authentication failed: part {part.Number} is {stored} bytes at the backend, Coffre wrote {part.CipherSize}. It was truncated, extended or replaced.");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _current?.Dispose();
            _current = null;
            DiscardPrefetch();
            if (_dataKey is not null) CryptographicOperations.ZeroMemory(_dataKey);
        }
        base.Dispose(disposing);
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
