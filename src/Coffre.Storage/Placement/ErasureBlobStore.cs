using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using Coffre.Storage.Erasure;

namespace Coffre.Storage.Placement;

/// <summary>One share of a blob found on a backend: where, its header, and the metadata it was written with.</summary>
internal sealed record LocatedShare(string Backend, ShareFormat Format, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// The erasure-coded side of <see cref="PlacementBlobStore"/>: writes a blob as N shares on N backends (share i on the
/// i-th), reads it back from any K of them, and tells a share blob from a whole copy. Like the rest of the placement
/// layer it sees ciphertext only. Each share blob carries the blob's own metadata plus <see cref="ShareMetadata"/>, so
/// that a HEAD on one backend tells a share from a copy without reading a body.
/// </summary>
internal sealed class ErasureBlobStore(PlacementBlobStore store)
{
    /// <summary>Metadata of a share blob: "i/k/n".</summary>
    public const string ShareMetadata = "coffre-share";

    /// <summary>Metadata of a share blob: the length of the whole blob, when known at write time.</summary>
    public const string LengthMetadata = "coffre-share-of";

    /// <summary>How much of a share may wait for a slow backend before the encoder pauses.</summary>
    private const int PipeBufferBytes = 1 << 20;

    public static bool IsShare(IReadOnlyDictionary<string, string> metadata) => metadata.ContainsKey(ShareMetadata);

    /// <summary>The blob's own metadata, without what this layer added.</summary>
    public static IReadOnlyDictionary<string, string> BlobMetadataOf(IReadOnlyDictionary<string, string> metadata) =>
        metadata.Where(m => m.Key is not ShareMetadata and not LengthMetadata).ToDictionary(m => m.Key, m => m.Value, StringComparer.Ordinal);

    // ---------------- writes ----------------

    /// <summary>Writes every share (share i to <paramref name="backends"/>[i]); returns once the policy's quorum is durable.</summary>
    public Task PutAsync(IReadOnlyList<string> backends, ErasurePolicy policy, string key, Stream content, long? length,
        IReadOnlyDictionary<string, string> metadata, CancellationToken ct) =>
        WriteSharesAsync(policy.Codec(), ErasurePolicy.DefaultBlockLength, key, content, length, metadata,
            backends.Select((b, i) => (i, b)).ToList(), policy.Quorum, ct);

    /// <summary>
    /// Encodes <paramref name="content"/> stripe by stripe and streams the shares <paramref name="targets"/> name, all in
    /// parallel, with one stripe and its parity in memory. A share whose backend fails is left out (for repair) while
    /// the others go on; the write fails, and the shares written are deleted, only when fewer than
    /// <paramref name="quorum"/> are durable or the body itself fails.
    /// </summary>
    internal async Task WriteSharesAsync(ReedSolomon rs, int blockLength, string key, Stream content, long? length,
        IReadOnlyDictionary<string, string> metadata, IReadOnlyList<(int Index, string Backend)> targets, int quorum, CancellationToken ct)
    {
        var layout = new ShareFormat(rs.K, rs.N, 0, blockLength, length ?? ShareFormat.UnknownLength);
        long? shareLength = length is null ? null : layout.ShareLength;
        var pipes = targets.Select(_ => new Pipe(new PipeOptions(pauseWriterThreshold: PipeBufferBytes, resumeWriterThreshold: PipeBufferBytes / 2,
            useSynchronizationContext: false))).ToArray();
        var puts = targets.Select((t, i) => PutShareAsync(t.Backend, key, pipes[i].Reader, shareLength, ShareMetadataFor(metadata, t.Index, rs, length), ct)).ToArray();
        var pump = EncodeAsync(rs, layout, content, length, targets.Select(t => t.Index).ToArray(), pipes.Select(p => p.Writer).ToArray(), key, ct);
        try
        {
            await Task.WhenAll([.. puts, pump]).ConfigureAwait(false);
        }
        catch
        {
            // Decided below, once every task has ended: some shares may have failed without failing the write.
        }
        var durable = puts.Count(p => p.IsCompletedSuccessfully);
        if (pump.IsCompletedSuccessfully && durable >= quorum)
        {
            store.Copies?.Record(targets.Where((_, i) => puts[i].IsCompletedSuccessfully).Select(t => BlobCopyChange.Holds(key, t.Backend, t.Index)));
            return;
        }
        await store.DeleteWrittenAsync(targets.Select(t => t.Backend).ToList(), puts, key).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        if (pump.Exception?.InnerException is { } bodyFailure) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(bodyFailure).Throw();
        var first = puts.Select(p => p.Exception?.InnerException).FirstOrDefault(e => e is not null);
        throw new BlobStoreException(BlobStoreError.Unavailable, store.Name, key,
            $"Only {durable} of the {targets.Count} shares of {BlobKeys.ForDisplay(key)} were written, {quorum} are needed; " +
            $"retry when the backends are back. The first failure: {first?.Message}", first);
    }

    private static Dictionary<string, string> ShareMetadataFor(IReadOnlyDictionary<string, string> metadata, int index, ReedSolomon rs, long? length)
    {
        var result = new Dictionary<string, string>(metadata, StringComparer.Ordinal) { [ShareMetadata] = $"{index}/{rs.K}/{rs.N}" };
        if (length is { } l) result[LengthMetadata] = l.ToString(CultureInfo.InvariantCulture);
        return result;
    }

    private async Task PutShareAsync(string backend, string key, PipeReader reader, long? length, IReadOnlyDictionary<string, string> metadata,
        CancellationToken ct)
    {
        // Disposing the stream completes the reader: the encoder then stops feeding this share and goes on with the others.
        await using var body = reader.AsStream();
        await store.Observed(backend, () => store.Backend(backend).PutAsync(key, body, length, metadata, ct)).ConfigureAwait(false);
    }

    private async Task EncodeAsync(ReedSolomon rs, ShareFormat layout, Stream content, long? length, int[] indices, PipeWriter[] writers,
        string key, CancellationToken ct)
    {
        var stripe = ArrayPool<byte>.Shared.Rent((int)layout.StripeData);
        var parity = ArrayPool<byte>.Shared.Rent((rs.N - rs.K) * layout.BlockLength);
        var open = writers.Select(_ => true).ToArray();
        try
        {
            for (var i = 0; i < writers.Length; i++)
            {
                (layout with { Index = indices[i] }).WriteHeader(writers[i].GetSpan(ShareFormat.HeaderLength), length is not null);
                writers[i].Advance(ShareFormat.HeaderLength);
            }
            await FlushAsync(writers, open, ct).ConfigureAwait(false);
            long total = 0;
            while (true)
            {
                var got = await content.ReadAtLeastAsync(stripe.AsMemory(0, (int)layout.StripeData), (int)layout.StripeData, throwOnEndOfStream: false, ct)
                    .ConfigureAwait(false);
                if (got == 0) break;
                total += got;
                if (length is { } expected && total > expected) break;
                var block = got == layout.StripeData ? layout.BlockLength : (got + rs.K - 1) / rs.K;
                stripe.AsSpan(got, rs.K * block - got).Clear();
                rs.Encode(stripe.AsSpan(0, rs.K * block), block, parity.AsSpan(0, (rs.N - rs.K) * block));
                for (var i = 0; i < writers.Length; i++)
                {
                    if (!open[i]) continue;
                    var source = indices[i] < rs.K ? stripe.AsSpan(indices[i] * block, block) : parity.AsSpan((indices[i] - rs.K) * block, block);
                    var span = writers[i].GetSpan(block + ShareFormat.ChecksumLength);
                    source.CopyTo(span);
                    ShareFormat.Seal(span[..(block + ShareFormat.ChecksumLength)]);
                    writers[i].Advance(block + ShareFormat.ChecksumLength);
                }
                await FlushAsync(writers, open, ct).ConfigureAwait(false);
                if (got < layout.StripeData) break;
            }
            if (length is { } announced && total != announced)
                throw new BlobStoreException(BlobStoreError.LengthMismatch, store.Name, key,
                    $"The body of {BlobKeys.ForDisplay(key)} had {(total > announced ? "more than " : "")}{total} bytes, {announced} were announced.");
            for (var i = 0; i < writers.Length; i++)
            {
                if (!open[i]) continue;
                ShareFormat.WriteTrailer(writers[i].GetSpan(ShareFormat.TrailerLength), total);
                writers[i].Advance(ShareFormat.TrailerLength);
            }
            await FlushAsync(writers, open, ct).ConfigureAwait(false);
            foreach (var writer in writers) await writer.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            foreach (var writer in writers) await writer.CompleteAsync(e).ConfigureAwait(false);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(stripe);
            ArrayPool<byte>.Shared.Return(parity);
        }
    }

    /// <summary>Flushes every share still being written; one whose backend gave up (reader completed) is dropped.</summary>
    private static async Task FlushAsync(PipeWriter[] writers, bool[] open, CancellationToken ct)
    {
        for (var i = 0; i < writers.Length; i++)
            if (open[i] && (await writers[i].FlushAsync(ct).ConfigureAwait(false)).IsCompleted)
                open[i] = false;
    }

    // ---------------- reads ----------------

    /// <summary>
    /// The shares of <paramref name="key"/> on <paramref name="backends"/>, read from their headers in parallel (those
    /// missing, unreachable or with a damaged header are left out; the first failure is returned), systematic shares
    /// first, then in the order given (fastest first). Shares disagreeing with the majority on the blob's shape are left out.
    /// </summary>
    public async Task<(IReadOnlyList<LocatedShare> Shares, IReadOnlyList<BlobStoreException> Failures)> LocateAsync(string key, IReadOnlyList<string> backends,
        CancellationToken ct)
    {
        var reads = backends.Select(b => ReadHeaderAsync(b, key, ct)).ToArray();
        await Task.WhenAll(reads).ConfigureAwait(false);
        var found = reads.Select(r => r.Result.Share).OfType<LocatedShare>().ToList();
        var failures = reads.Select(r => r.Result.Failure).OfType<BlobStoreException>().ToList();
        var shape = found.GroupBy(s => s.Format with { Index = 0 }).OrderByDescending(g => g.Count()).FirstOrDefault();
        var position = backends.Select((b, i) => (b, i)).ToDictionary(x => x.b, x => x.i, StringComparer.Ordinal);
        var shares = shape is null ? [] : shape.GroupBy(s => s.Format.Index).Select(g => g.First())
            .OrderBy(s => s.Format.Index < s.Format.K ? 0 : 1).ThenBy(s => position[s.Backend]).ToList();
        return (shares, failures);
    }

    private async Task<(LocatedShare? Share, BlobStoreException? Failure)> ReadHeaderAsync(string backend, string key, CancellationToken ct)
    {
        try
        {
            var backendStore = store.Backend(backend);
            await using var head = await store.Observed(backend, () => backendStore.GetAsync(key, 0, ShareFormat.HeaderLength, ct)).ConfigureAwait(false);
            if (!IsShare(head.Metadata)) return (null, null);
            var bytes = new byte[ShareFormat.HeaderLength];
            await head.Content.ReadExactlyAsync(bytes, ct).ConfigureAwait(false);
            var format = ShareFormat.ParseHeader(bytes);
            if (format is null) return (null, null);
            if (format.TotalLength == ShareFormat.UnknownLength)
            {
                await using var tail = await backendStore.GetAsync(key, head.TotalLength - ShareFormat.TrailerLength, ShareFormat.TrailerLength, ct).ConfigureAwait(false);
                var trailer = new byte[ShareFormat.TrailerLength];
                await tail.Content.ReadExactlyAsync(trailer, ct).ConfigureAwait(false);
                if (ShareFormat.ParseTrailer(trailer) is not { } total) return (null, null);
                format = format with { TotalLength = total };
            }
            return format.ShareLength == head.TotalLength ? (new LocatedShare(backend, format, head.Metadata), null) : (null, null);
        }
        catch (BlobNotFoundException)
        {
            return (null, null);
        }
        catch (BlobStoreException e) when (e.Error is BlobStoreError.Unavailable or BlobStoreError.Backend)
        {
            return (null, new BlobStoreException(e.Error, backend, key, $"backend '{backend}': {e.Message}", e));
        }
        catch (Exception e) when (e is BlobStoreException or EndOfStreamException or IOException or ArgumentOutOfRangeException)
        {
            return (null, null); // a damaged or truncated share: left out, repair rewrites it
        }
    }

    /// <summary>
    /// Opens a range of an erasure-coded blob, or returns null when no backend holds a share of it (a whole copy,
    /// written before the bucket's policy changed). Fewer than K shares: <see cref="BlobStoreError.Unavailable"/>
    /// when a backend could not be reached, else <see cref="BlobStoreError.Corrupt"/>.
    /// </summary>
    public async Task<BlobReadResult?> TryGetAsync(string key, long offset, long? length, IReadOnlyList<string> order, CancellationToken ct)
    {
        var (shares, failures) = await LocateAsync(key, order, ct).ConfigureAwait(false);
        var failure = failures.FirstOrDefault();
        if (shares.Count == 0 && failure is null) return null;
        var format = shares.Count > 0 ? shares[0].Format : null;
        if (format is null || shares.Count < format.K) throw TooFewShares(key, shares.Count, format?.K, failure);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset, format.TotalLength);
        var take = Math.Min(length ?? long.MaxValue, format.TotalLength - offset);
        var stream = new ErasureReadStream(this, key, shares, offset, take);
        return new BlobReadResult(key, stream, offset, take, format.TotalLength, BlobMetadataOf(shares[0].Metadata));
    }

    internal BlobStoreException TooFewShares(string key, int good, int? k, BlobStoreException? failure) => failure is not null
        ? new BlobStoreException(BlobStoreError.Unavailable, store.Name, key,
            $"Only {good} good share(s) of {BlobKeys.ForDisplay(key)} could be read{(k is null ? "" : $", {k} are needed")}; " +
            $"retry when the backends are back. The first failure: {failure.Message}", failure)
        : new BlobStoreException(BlobStoreError.Corrupt, store.Name, key,
            $"Only {good} good share(s) of {BlobKeys.ForDisplay(key)} exist{(k is null ? "" : $", {k} are needed")}: the blob cannot be rebuilt; " +
            "restore it from a backup.");

    /// <summary>Length and metadata of an erasure-coded blob, given what a HEAD of one of its shares returned.</summary>
    public async Task<BlobInfo> HeadAsync(string key, BlobInfo share, IReadOnlyList<string> order, CancellationToken ct)
    {
        if (share.Metadata.TryGetValue(LengthMetadata, out var text) && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var length))
            return new BlobInfo(key, length, BlobMetadataOf(share.Metadata));
        var (shares, failures) = await LocateAsync(key, order, ct).ConfigureAwait(false);
        if (shares.Count == 0) throw TooFewShares(key, 0, null, failures.FirstOrDefault());
        return new BlobInfo(key, shares[0].Format.TotalLength, BlobMetadataOf(shares[0].Metadata));
    }

    /// <summary>Opens share <paramref name="share"/> from stripe <paramref name="first"/> through <paramref name="last"/>.</summary>
    internal Task<BlobReadResult> OpenStripesAsync(string key, LocatedShare share, long first, long last, CancellationToken ct)
    {
        var f = share.Format;
        var start = f.OffsetOf(first);
        var end = f.OffsetOf(last) + f.BlockLengthOf(last) + ShareFormat.ChecksumLength;
        return store.Observed(share.Backend, () => store.Backend(share.Backend).GetAsync(key, start, end - start, ct));
    }

    internal PlacementBlobStore Store => store;
}
