using System.Security.Cryptography;
using Coffre.Crypto;
using Coffre.Objects.Catalog;
using Coffre.Storage;

namespace Coffre.Objects;

/// <summary>
/// The plaintext of an object's byte range, decrypted part by part as it is read. Each part is
/// fetched with one ranged backend read covering only the segments the range touches; the stream
/// header is the catalog's copy, and a full read also checks the backend's copy against it, so a
/// provider cannot substitute another or an older ciphertext.
/// </summary>
internal sealed class ObjectBodyStream : Stream
{
    private readonly IBlobStore _blobs;
    private readonly ObjectRecord _record;
    private readonly byte[] _dataKey;
    private readonly long _end;
    private long _position;
    private int _partIndex = -1;
    private long _partStart; // object offset of the current part's first byte
    private Stream? _current;
    private (int Index, Task<BlobReadResult> Fetch)? _prefetch;

    public ObjectBodyStream(IBlobStore blobs, ObjectRecord record, ReadOnlySpan<byte> dataKey, long start, long end)
    {
        _blobs = blobs;
        _record = record;
        _dataKey = dataKey.ToArray();
        _position = start;
        _end = end;
    }

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

    private async Task<bool> OpenNextPartAsync(CancellationToken ct)
    {
        // Advance to the part holding _position.
        var partStart = _partIndex < 0 ? 0 : _partStart + _record.Parts[_partIndex].Size;
        var index = _partIndex + 1;
        while (index < _record.Parts.Count && partStart + _record.Parts[index].Size <= _position)
        {
            partStart += _record.Parts[index].Size;
            index++;
        }
        if (index >= _record.Parts.Count) return false;
        _partIndex = index;
        _partStart = partStart;
        var part = _record.Parts[index];
        var localStart = _position - partStart;
        var localEnd = Math.Min(_end - partStart, part.Size);
        var ad = ObjectBinding.StreamAssociatedData(_record.Bucket, _record.Name, _record.Key.KeyId, part.Number);

        Task<BlobReadResult> fetch;
        if (_prefetch is { } p && p.Index == index && localStart == 0)
            fetch = p.Fetch;
        else
        {
            DiscardPrefetch();
            fetch = Fetch(part, localStart, localEnd, ct);
        }
        _prefetch = null;
        var blob = await fetch.ConfigureAwait(false);
        CheckLength(blob.TotalLength, part);

        // A part fetched while this one is read hides the backend's per-request latency.
        var nextStart = partStart + part.Size;
        if (index + 1 < _record.Parts.Count && nextStart < _end)
        {
            var next = _record.Parts[index + 1];
            _prefetch = (index + 1, Fetch(next, 0, Math.Min(_end - nextStart, next.Size), CancellationToken.None));
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
    private Task<BlobReadResult> Fetch(StoredPart part, long localStart, long localEnd, CancellationToken ct)
    {
        if (localStart == 0 && localEnd == part.Size)
            return _blobs.GetAsync(part.Blob, 0, null, ct);
        var plan = StreamFormat.PlanRange(part.CipherSize, part.Header[5], localStart, localEnd);
        return _blobs.GetAsync(part.Blob, plan.CiphertextOffset, plan.CiphertextLength, ct);
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
            CryptographicOperations.ZeroMemory(_dataKey);
        }
        base.Dispose(disposing);
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
