using System.Security.Cryptography;

namespace Coffre.Storage.Placement;

/// <summary>A blob whose copies `coffre repair` checks: its key, and what its owner recorded of it (no key material).</summary>
/// <param name="ExpectedLength">The ciphertext length the object catalog recorded; null when unknown (an annex such as a sidecar).</param>
/// <param name="ExpectedPrefix">The first bytes the catalog recorded (the stream header); empty when unknown.</param>
public sealed record RepairItem(string Key, long? ExpectedLength, byte[] ExpectedPrefix, bool OptionalAnnex = false)
{
    /// <summary>Whether <paramref name="chunk"/>, read at <paramref name="position"/> of the blob, agrees with the first bytes recorded.</summary>
    public bool PrefixAgrees(long position, ReadOnlySpan<byte> chunk)
    {
        if (position >= ExpectedPrefix.Length) return true;
        var overlap = (int)Math.Min(chunk.Length, ExpectedPrefix.Length - position);
        return chunk[..overlap].SequenceEqual(ExpectedPrefix.AsSpan((int)position, overlap));
    }
}

/// <summary>What happened to one blob: the backends whose copy was rewritten, or why it could not be.</summary>
public sealed record RepairOutcome(string Key, IReadOnlyList<string> Rewritten, IReadOnlyList<string> Unreachable, string? Problem);

/// <summary>
/// Finds and rewrites missing or damaged copies of blobs on the backends a bucket's policy requires, comparing
/// ciphertext only: a copy is good when its length and first bytes are what the catalog recorded, and copies are
/// compared by SHA-256. The good content is the one most good copies agree on; when good copies disagree with no
/// majority, nothing is touched and the blob is reported. Each rewritten copy is read back and compared with the good
/// one, and a rewrite that fails for a moment is tried again (<see cref="CopyRetry"/>, on <paramref name="time"/>).
/// Idempotent: running it again checks again.
/// </summary>
public sealed class BlobRepairer(PlacementBlobStore store, TimeProvider time)
{
    public async Task<RepairOutcome> RepairAsync(RepairItem item, IReadOnlyList<string> copies, CancellationToken ct = default)
    {
        if (await new ShareRepairer(store.Erasure).RepairAsync(item, copies, ct).ConfigureAwait(false) is { } shares) return shares;
        var unreachable = new List<string>();
        var good = new List<(string Backend, byte[] Digest)>();
        var needed = new List<string>();
        var found = 0;
        foreach (var backend in copies)
        {
            try
            {
                var check = await CheckAsync(store.Backend(backend), item, ct).ConfigureAwait(false);
                if (check is { } digest) good.Add((backend, digest));
                if (check is not null || await store.Backend(backend).HeadAsync(item.Key, ct).ConfigureAwait(false) is not null) found++;
                if (check is null) needed.Add(backend);
            }
            catch (BlobStoreException e) when (e.Error is BlobStoreError.Unavailable or BlobStoreError.Backend)
            {
                unreachable.Add(backend);
            }
        }
        var groups = good.GroupBy(g => Convert.ToHexString(g.Digest)).OrderByDescending(g => g.Count()).ToList();
        if (needed.Count == 0 && groups.Count <= 1)
        {
            Record(item.Key, good.Select(g => g.Backend), []);
            return new RepairOutcome(item.Key, [], unreachable, null);
        }
        if (good.Count == 0)
        {
            Record(item.Key, [], needed);
            // An annex (a sidecar) that no backend holds simply does not exist.
            if (item.OptionalAnnex && found == 0) return new RepairOutcome(item.Key, [], unreachable, null);
            return new RepairOutcome(item.Key, [], unreachable, unreachable.Count > 0
                ? "no good copy on the reachable backends: retry when the others are back"
                : "no good copy on any backend: the object is lost unless a backup has it");
        }
        if (groups.Count > 1 && groups[0].Count() == groups[1].Count())
            return new RepairOutcome(item.Key, [], unreachable,
                $"copies disagree with no majority ({string.Join("; ", groups.Select(g => string.Join(",", g.Select(x => x.Backend))))}): left as they are");
        var source = groups[0].First().Backend;
        var goodDigest = groups[0].First().Digest;
        needed.AddRange(groups.Skip(1).SelectMany(g => g.Select(x => x.Backend)));
        var rewritten = new List<string>();
        foreach (var backend in needed)
        {
            try
            {
                await CopyRetry.RunAsync(() => RewriteAsync(item, source, backend, goodDigest, ct), CopyRetry.IsTransient, time, ct).ConfigureAwait(false);
                rewritten.Add(backend);
            }
            catch (Exception e) when (e is IOException or BlobStoreException { Error: BlobStoreError.Unavailable or BlobStoreError.Backend })
            {
                // Reported as unreachable, as a backend down is: the next pass tries it again.
                unreachable.Add(backend);
            }
        }
        Record(item.Key, groups[0].Select(g => g.Backend).Concat(rewritten), []);
        return new RepairOutcome(item.Key, rewritten, unreachable, null);
    }

    /// <summary>Copies the good copy on <paramref name="source"/> to <paramref name="target"/> and reads it back: it must hash as the good one.</summary>
    private async Task<bool> RewriteAsync(RepairItem item, string source, string target, byte[] digest, CancellationToken ct)
    {
        await using (var read = await store.Backend(source).GetAsync(item.Key, 0, null, ct).ConfigureAwait(false))
            await store.PutToAsync([target], item.Key, read.Content, read.TotalLength, read.Metadata, ct).ConfigureAwait(false);
        if (await CheckAsync(store.Backend(target), item, ct).ConfigureAwait(false) is not { } copied || !copied.AsSpan().SequenceEqual(digest))
            throw new IOException($"The rewritten copy of {BlobKeys.ForDisplay(item.Key)} on '{target}' does not read back as the good copy on '{source}'.");
        return true;
    }

    /// <summary>States in the catalog what this pass found: the backends with a good copy, and those without one
    /// (a backend that could not be asked is left as recorded). This is what sets the record right after a lost batch.</summary>
    private void Record(string key, IEnumerable<string> holding, IEnumerable<string> lacking) =>
        store.Copies?.Record([.. holding.Select(b => BlobCopyChange.Holds(key, b)), .. lacking.Select(b => BlobCopyChange.Lost(key, b))]);

    /// <summary>The SHA-256 of the copy when it is good (right length, right first bytes), else null (missing or damaged).</summary>
    public static async Task<byte[]?> CheckAsync(IBlobStore backend, RepairItem item, CancellationToken ct)
    {
        BlobReadResult read;
        try
        {
            read = await backend.GetAsync(item.Key, 0, null, ct).ConfigureAwait(false);
        }
        catch (BlobNotFoundException)
        {
            return null;
        }
        catch (BlobStoreException e) when (e.Error == BlobStoreError.Corrupt)
        {
            return null;
        }
        await using (read)
        {
            if (item.ExpectedLength is { } length && read.TotalLength != length) return null;
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[81920];
            long position = 0;
            int n;
            while ((n = await read.Content.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                if (!item.PrefixAgrees(position, buffer.AsSpan(0, n))) return null;
                sha.AppendData(buffer, 0, n);
                position += n;
            }
            return position == read.TotalLength ? sha.GetHashAndReset() : null;
        }
    }
}
