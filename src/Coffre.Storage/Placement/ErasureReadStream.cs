using System.Buffers;
using Coffre.Storage.Erasure;

namespace Coffre.Storage.Placement;

/// <summary>
/// The body of a range of an erasure-coded blob: reads the stripes the range covers from K shares at once, checks every
/// block's checksum, rebuilds the stripe and hands out the bytes asked for. A share that fails, stalls past
/// <see cref="PlacementBlobStore.ReadTimeout"/> or holds a damaged block is left out, and the stripe is read again with
/// the next share; with fewer than K good shares the read fails — it never returns bytes it could not check.
/// Memory: one stripe and its K blocks, from the array pool.
/// </summary>
internal sealed class ErasureReadStream : ForwardReadStream
{
    private readonly ErasureBlobStore _erasure;
    private readonly string _key;
    private readonly ShareFormat _format;
    private readonly ReedSolomon _codec;
    private readonly Queue<LocatedShare> _spares;
    private readonly List<(LocatedShare Share, BlobReadResult? Read)> _active = [];
    private readonly long _offset;
    private readonly long _firstStripe;
    private readonly long _lastStripe;
    private readonly byte[] _blocks;
    private readonly byte[] _stripe;
    private BlobStoreException? _failure;
    private int[]? _decodingFor;
    private byte[]? _decoding;
    private long _nextStripe;
    private int _stripeStart; // the window of _stripe still to hand out
    private int _stripeEnd;
    private bool _released;

    public ErasureReadStream(ErasureBlobStore erasure, string key, IReadOnlyList<LocatedShare> shares, long offset, long length)
        : base(length)
    {
        _erasure = erasure;
        _key = key;
        _format = shares[0].Format;
        _codec = new ReedSolomon(_format.K, _format.N);
        _active.AddRange(shares.Take(_format.K).Select(s => (s, (BlobReadResult?)null)));
        _spares = new Queue<LocatedShare>(shares.Skip(_format.K));
        _offset = offset;
        _firstStripe = offset / _format.StripeData;
        _lastStripe = length == 0 ? _firstStripe - 1 : (offset + length - 1) / _format.StripeData;
        _nextStripe = _firstStripe;
        _blocks = ArrayPool<byte>.Shared.Rent(_format.K * (_format.BlockLength + ShareFormat.ChecksumLength));
        _stripe = ArrayPool<byte>.Shared.Rent((int)_format.StripeData);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Length == 0 || Delivered >= Length) return 0;
        if (_stripeStart == _stripeEnd) await NextStripeAsync(cancellationToken).ConfigureAwait(false);
        var n = Math.Min(buffer.Length, _stripeEnd - _stripeStart);
        _stripe.AsSpan(_stripeStart, n).CopyTo(buffer.Span);
        _stripeStart += n;
        Delivered += n;
        return n;
    }

    private async Task NextStripeAsync(CancellationToken ct)
    {
        var s = _nextStripe++;
        var block = _format.BlockLengthOf(s);
        var record = block + ShareFormat.ChecksumLength;
        var good = new bool[_format.K];
        while (true)
        {
            var reads = new List<Task>();
            for (var r = 0; r < _active.Count; r++)
                if (!good[r]) reads.Add(ReadBlockAsync(r, s, record, good, ct));
            await Task.WhenAll(reads).ConfigureAwait(false);
            if (good.All(g => g)) break;
            // Replace every share that failed by a spare, from this stripe on; none left: the stripe cannot be rebuilt.
            for (var r = 0; r < _active.Count; r++)
            {
                if (good[r]) continue;
                if (_active[r].Read is { } broken) await broken.DisposeAsync().ConfigureAwait(false);
                if (!_spares.TryDequeue(out var spare))
                    throw _erasure.TooFewShares(_key, good.Count(g => g) + _spares.Count, _format.K, _failure);
                _active[r] = (spare, null);
            }
        }
        var indices = _active.Select(a => a.Share.Format.Index).ToArray();
        for (var r = 0; r < indices.Length; r++) _blocks.AsSpan(r * record, block).CopyTo(_blocks.AsSpan(r * block, block));
        if (_decodingFor is null || !_decodingFor.AsSpan().SequenceEqual(indices))
        {
            _decoding = _codec.DecodingMatrix(indices);
            _decodingFor = indices;
        }
        _codec.Decode(indices, _decoding!, _blocks.AsSpan(0, _format.K * block), block, _stripe.AsSpan(0, _format.K * block));
        var stripeOffset = s * _format.StripeData;
        var stripeLength = Math.Min(_format.StripeData, _format.TotalLength - stripeOffset);
        _stripeStart = (int)Math.Max(0, _offset - stripeOffset);
        _stripeEnd = (int)Math.Min(stripeLength, _offset + Length - stripeOffset);
    }

    /// <summary>Reads share r's block of stripe s (with its checksum) into its slot; marks it good when complete and intact.</summary>
    private async Task ReadBlockAsync(int r, long s, int record, bool[] good, CancellationToken ct)
    {
        var (share, read) = _active[r];
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(_erasure.Store.ReadTimeout);
        try
        {
            if (read is null)
            {
                read = await _erasure.OpenStripesAsync(_key, share, s, _lastStripe, deadline.Token).ConfigureAwait(false);
                _active[r] = (share, read);
            }
            var slot = _blocks.AsMemory(r * record, record);
            await read.Content.ReadExactlyAsync(slot, deadline.Token).ConfigureAwait(false);
            if (ShareFormat.IsIntact(slot.Span)) good[r] = true;
            else _erasure.Store.Health.Failed(share.Backend, $"share {share.Format.Index} of {BlobKeys.ForDisplay(_key)} has a damaged block in stripe {s}");
        }
        catch (Exception e) when (!ct.IsCancellationRequested && e is IOException or OperationCanceledException or BlobStoreException
            or HttpRequestException or ObjectDisposedException or ArgumentOutOfRangeException)
        {
            var message = e is OperationCanceledException ? $"sent nothing for {_erasure.Store.ReadTimeout}" : e.Message;
            _erasure.Store.Health.Failed(share.Backend, $"reading share {share.Format.Index} of {BlobKeys.ForDisplay(_key)}: {message}");
            if (e is not EndOfStreamException && !(e is BlobStoreException { Error: BlobStoreError.Corrupt or BlobStoreError.NotFound }))
                _failure ??= new BlobStoreException(BlobStoreError.Unavailable, share.Backend, _key, $"backend '{share.Backend}': {message}", e);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) Release();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        foreach (var (_, read) in _active)
            if (read is not null) await read.DisposeAsync().ConfigureAwait(false);
        _active.Clear();
        Release();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private void Release()
    {
        if (_released) return;
        _released = true;
        foreach (var (_, read) in _active) read?.Dispose();
        _active.Clear();
        ArrayPool<byte>.Shared.Return(_blocks);
        ArrayPool<byte>.Shared.Return(_stripe);
    }
}
