using Coffre.Storage.Erasure;

namespace Coffre.Storage.Placement;

/// <summary>
/// `coffre repair` for an erasure-coded blob: every share is read whole and each block's checksum checked; the shares
/// missing or damaged on the backends the policy names (share i on the i-th) are rebuilt from K good ones and written
/// there. No key is used: shares are ciphertext. What it finds is recorded as <see cref="BlobRepairer"/> does for whole
/// copies: the good shares (with their numbers) as held and the damaged ones as lost, until the write that rebuilds a
/// share records it held again.
/// </summary>
internal sealed class ShareRepairer(ErasureBlobStore erasure)
{
    /// <summary>The outcome, or null when no backend holds a share of the blob (it is stored as whole copies).</summary>
    public async Task<RepairOutcome?> RepairAsync(RepairItem item, IReadOnlyList<string> copies, CancellationToken ct)
    {
        var store = erasure.Store;
        var (located, failures) = await erasure.LocateAsync(item.Key, store.Backends.Select(b => b.Name).ToList(), ct).ConfigureAwait(false);
        var unreachable = failures.Select(f => f.Store).Distinct().Order(StringComparer.Ordinal).ToList();
        if (located.Count == 0) return failures.Count == 0 ? null : new RepairOutcome(item.Key, [], unreachable, "no share on the reachable backends: retry when the others are back");
        var good = new List<LocatedShare>();
        foreach (var share in located)
            if (await IsIntactAsync(item.Key, share, ct).ConfigureAwait(false)) good.Add(share);
        store.Copies?.Record([
            .. good.Select(g => BlobCopyChange.Holds(item.Key, g.Backend, g.Format.Index)),
            .. located.Except(good).Select(d => BlobCopyChange.Lost(item.Key, d.Backend))]);
        var format = located[0].Format;
        if (item.ExpectedLength is { } expected && format.TotalLength != expected)
            return new RepairOutcome(item.Key, [], unreachable, $"the shares hold {format.TotalLength} bytes, the catalog recorded {expected}: left as they are");
        var targets = copies.Take(format.N).Select((backend, index) => (Index: index, Backend: backend))
            .Where(t => !good.Any(g => g.Backend == t.Backend && g.Format.Index == t.Index)).ToList();
        var needed = targets.Where(t => !unreachable.Contains(t.Backend)).ToList();
        // A backend that failed on this blob only may be up but hold a share it cannot serve (a provider restarted after
        // a crash mid-write can answer 500 for that object for good): its share is rewritten too, best effort; a
        // backend that is down stays reported unreachable.
        var retried = targets.Where(t => unreachable.Contains(t.Backend)).ToList();
        if (needed.Count == 0 && retried.Count == 0) return new RepairOutcome(item.Key, [], unreachable, null);
        var sources = good.Where(g => !targets.Any(n => n.Backend == g.Backend)).ToList();
        if (sources.Count < format.K)
            return new RepairOutcome(item.Key, [], unreachable, unreachable.Count > 0
                ? $"only {sources.Count} good share(s) on the reachable backends, {format.K} are needed: retry when the others are back"
                : $"only {sources.Count} good share(s), {format.K} are needed: the blob is lost unless a backup has it");
        var rewritten = new List<string>();
        if (needed.Count > 0)
        {
            try
            {
                await WriteAsync(item.Key, format, sources, needed, ct).ConfigureAwait(false);
            }
            catch (BlobStoreException e) when (e.Error is BlobStoreError.Unavailable or BlobStoreError.Backend)
            {
                return new RepairOutcome(item.Key, [], [.. unreachable, .. needed.Select(n => n.Backend)], $"rewriting shares failed: {e.Message}");
            }
            rewritten.AddRange(needed.Select(n => n.Backend));
        }
        foreach (var target in retried)
        {
            try
            {
                await WriteAsync(item.Key, format, sources, [target], ct).ConfigureAwait(false);
            }
            catch (BlobStoreException e) when (e.Error is BlobStoreError.Unavailable or BlobStoreError.Backend)
            {
                continue;
            }
            rewritten.Add(target.Backend);
            unreachable.Remove(target.Backend);
        }
        return new RepairOutcome(item.Key, rewritten, unreachable, null);
    }

    /// <summary>Rebuilds the blob from <paramref name="sources"/> and writes the shares <paramref name="targets"/> name, all of them durable or a failure.</summary>
    private async Task WriteAsync(string key, ShareFormat format, IReadOnlyList<LocatedShare> sources, IReadOnlyList<(int Index, string Backend)> targets,
        CancellationToken ct)
    {
        await using var rebuilt = new ErasureReadStream(erasure, key, sources, 0, format.TotalLength);
        await erasure.WriteSharesAsync(new ReedSolomon(format.K, format.N), format.BlockLength, key, rebuilt, format.TotalLength,
            ErasureBlobStore.BlobMetadataOf(sources[0].Metadata), targets, targets.Count, ct).ConfigureAwait(false);
    }

    /// <summary>Whether the whole share reads back with its header, every block's checksum and its trailer intact.</summary>
    private async Task<bool> IsIntactAsync(string key, LocatedShare share, CancellationToken ct)
    {
        var f = share.Format;
        var buffer = new byte[Math.Max(ShareFormat.HeaderLength, f.BlockLength + ShareFormat.ChecksumLength)];
        try
        {
            await using var read = await erasure.Store.Backend(share.Backend).GetAsync(key, 0, null, ct).ConfigureAwait(false);
            if (read.TotalLength != f.ShareLength) return false;
            await read.Content.ReadExactlyAsync(buffer.AsMemory(0, ShareFormat.HeaderLength), ct).ConfigureAwait(false);
            if (ShareFormat.ParseHeader(buffer) is null) return false;
            for (long s = 0; s < f.Stripes; s++)
            {
                var record = buffer.AsMemory(0, f.BlockLengthOf(s) + ShareFormat.ChecksumLength);
                await read.Content.ReadExactlyAsync(record, ct).ConfigureAwait(false);
                if (!ShareFormat.IsIntact(record.Span)) return false;
            }
            await read.Content.ReadExactlyAsync(buffer.AsMemory(0, ShareFormat.TrailerLength), ct).ConfigureAwait(false);
            return ShareFormat.ParseTrailer(buffer.AsSpan(0, ShareFormat.TrailerLength)) == f.TotalLength;
        }
        catch (Exception e) when (e is BlobStoreException or IOException or EndOfStreamException)
        {
            return false;
        }
    }
}
