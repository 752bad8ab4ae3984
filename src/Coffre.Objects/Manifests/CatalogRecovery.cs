using System.Collections.Concurrent;
using Coffre.Crypto;
using Coffre.Objects.Catalog;
using Coffre.Objects.Keys;
using Coffre.Storage;
using Coffre.Storage.Placement;

namespace Coffre.Objects.Manifests;

public readonly record struct RecoveryProgress(string Phase, long Done, long Total);

/// <summary>A manifest found at the backends that did not become a catalog entry, and why.</summary>
public sealed record RecoveryProblem(string Blob, string Problem);

public sealed record RecoveredBucket(string Name, long Objects, long Versions, long AlreadyPresent);

public sealed record RecoveryReport(
    IReadOnlyList<RecoveredBucket> Buckets,
    long ManifestsFound,
    IReadOnlyList<RecoveryProblem> Unmatched,
    IReadOnlyList<string> UnreachableBackends);

/// <summary>
/// Rebuilds the catalog from the backends and the key store (docs/format.md §12): every manifest found is opened with
/// its data key, its parts are checked at the backend (their stream headers, as the catalog would), and its version is
/// committed in the order the versions were written. Committing what the catalog already holds is skipped, so an
/// interrupted run resumes by running again. Blobs are read inside each bucket's placement scope, so erasure-coded
/// parts are read from any K of their shares.
/// </summary>
public sealed class CatalogRecovery(IObjectCatalog catalog, IBlobStore blobs, IDataKeyService keys)
{
    private const int Concurrency = 8;

    /// <param name="bucket">Only this bucket; null: every bucket found.</param>
    public async Task<RecoveryReport> RunAsync(string? bucket, string principal, IProgress<RecoveryProgress>? progress = null, CancellationToken ct = default)
    {
        var unreachable = new SortedSet<string>(StringComparer.Ordinal);
        var found = await ListManifestsAsync(unreachable, ct).ConfigureAwait(false);
        var problems = new ConcurrentBag<RecoveryProblem>();
        var opened = new ConcurrentBag<(string Blob, ObjectManifest Manifest)>();
        long done = 0;
        progress?.Report(new RecoveryProgress("open", 0, found.Count));
        await Parallel.ForEachAsync(found, new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = ct }, async (blob, token) =>
        {
            var (manifest, problem) = await OpenAsync(blob, principal, token).ConfigureAwait(false);
            if (problem is not null) problems.Add(new RecoveryProblem(blob, problem));
            else if (bucket is null || manifest!.Bucket == bucket)
            {
                problem = await CheckPartsAsync(manifest!, token).ConfigureAwait(false);
                if (problem is null) opened.Add((blob, manifest!));
                else problems.Add(new RecoveryProblem(blob, problem));
            }
            progress?.Report(new RecoveryProgress("open", Interlocked.Increment(ref done), found.Count));
        }).ConfigureAwait(false);

        var buckets = new List<RecoveredBucket>();
        long committed = 0;
        foreach (var inBucket in opened.Select(o => o.Manifest).GroupBy(m => m.Bucket, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var newest = inBucket.MaxBy(m => m.Modified)!;
            // False when present already (an earlier, interrupted run, or a catalog being mended): its key stays as it is.
            _ = await catalog.TryCreateBucketAsync(newest.ToBucket(), ct).ConfigureAwait(false);
            await catalog.SetBucketVersioningAsync(newest.Bucket, newest.BucketVersioning, ct).ConfigureAwait(false);
            long versions = 0, present = 0;
            var names = inBucket.GroupBy(m => m.Name, StringComparer.Ordinal).ToList();
            foreach (var name in names)
            {
                // Oldest first: each commit makes its version the latest, as the writes did.
                foreach (var manifest in name.OrderBy(m => m.Modified))
                {
                    var existing = await catalog.GetVersionAsync(manifest.Bucket, manifest.Name, manifest.VersionId, ct).ConfigureAwait(false);
                    // Present: this very version (same first part), or a later one of the null version (the catalog keeps milliseconds).
                    if (existing is not null && (existing.Record?.Parts[0].Blob == manifest.Parts[0].Blob
                        || existing.Modified.ToUnixTimeMilliseconds() >= manifest.Modified.ToUnixTimeMilliseconds()))
                    {
                        present++;
                    }
                    else
                    {
                        await catalog.CommitObjectAsync(manifest.ToRecord(await CurrentKeyAsync(manifest, ct).ConfigureAwait(false)), ct: ct,
                            versionLock: manifest.Lock).ConfigureAwait(false);
                        versions++;
                    }
                    progress?.Report(new RecoveryProgress("commit", ++committed, opened.Count));
                }
            }
            buckets.Add(new RecoveredBucket(inBucket.Key, names.Count, versions, present));
        }
        return new RecoveryReport(buckets, found.Count, problems.OrderBy(p => p.Blob, StringComparer.Ordinal).ToList(), unreachable.ToList());
    }

    /// <summary>Every manifest key on every backend that answers (a backend down is reported, not fatal: erasure-coded and
    /// copied buckets keep each manifest whole on every backend their object uses).</summary>
    private async Task<List<string>> ListManifestsAsync(SortedSet<string> unreachable, CancellationToken ct)
    {
        var stores = blobs is PlacementBlobStore placement ? placement.Backends.Select(b => (b.Name, b.Store)).ToList() : [(blobs.Name, blobs)];
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (name, store) in stores)
        {
            try
            {
                await foreach (var entry in store.ListAsync("objects/", ct).ConfigureAwait(false))
                    if (entry.Key.EndsWith(ObjectManifest.Suffix, StringComparison.Ordinal)) keys.Add(entry.Key);
            }
            catch (BlobStoreException)
            {
                unreachable.Add(name);
            }
        }
        return keys.ToList();
    }

    private async Task<(ObjectManifest? Manifest, string? Problem)> OpenAsync(string blob, string principal, CancellationToken ct)
    {
        try
        {
            await using var read = await blobs.GetAsync(blob, cancellationToken: ct).ConfigureAwait(false);
            var manifest = await ObjectManifest.OpenAsync(read.Content,
                key => keys.UnwrapDataKeyAsync(key, ObjectManifest.WrapContext(blob), principal), ct).ConfigureAwait(false);
            return manifest.Parts.Count > 0 && ObjectManifest.KeyOf(manifest.Parts[0].Blob) == blob
                ? (manifest, null) : (null, "the manifest names other parts than its own (moved by the provider)");
        }
        catch (AuthenticationFailedException e)
        {
            return (null, $"the manifest failed authentication: {e.Message}");
        }
        catch (ObjectStoreException e)
        {
            return (null, $"its data key could not be unwrapped: {e.Message}");
        }
        catch (BlobStoreException e)
        {
            return (null, $"it could not be read: {e.Message}");
        }
        catch (Exception e) when (e is InvalidDataException or System.Text.Json.JsonException)
        {
            return (null, $"it is not a manifest this version of Coffre reads: {e.Message}");
        }
    }

    /// <summary>Why the parts cannot serve the object (null: each starts with the stream header the manifest records).</summary>
    private async Task<string?> CheckPartsAsync(ObjectManifest manifest, CancellationToken ct)
    {
        using var scope = PlacementScope.Enter(manifest.Bucket);
        foreach (var part in manifest.Parts)
        {
            try
            {
                await using var read = await blobs.GetAsync(part.Blob, 0, part.Header.Length, ct).ConfigureAwait(false);
                var header = new byte[part.Header.Length];
                await read.Content.ReadExactlyAsync(header, ct).ConfigureAwait(false);
                if (read.TotalLength != part.CipherSize || !header.AsSpan().SequenceEqual(part.Header))
                    return $"part {part.Number} ({part.Blob}) is not the ciphertext the manifest records";
            }
            catch (BlobNotFoundException)
            {
                return $"part {part.Number} ({part.Blob}) is missing: a write that was never committed, or data lost at the provider";
            }
            catch (Exception e) when (e is BlobStoreException or EndOfStreamException)
            {
                return $"part {part.Number} ({part.Blob}) could not be read: {e.Message}";
            }
        }
        return null;
    }

    /// <summary>The version's current wrapped data key: the sidecar's when a rewrap wrote one (docs/format.md §5,
    /// precedence) unless the manifest's is newer, else the manifest's.</summary>
    private async Task<WrappedKeyRef> CurrentKeyAsync(ObjectManifest manifest, CancellationToken ct)
    {
        try
        {
            if (await blobs.HeadAsync(BlobMetadata.SidecarKey(manifest.Parts[0].Blob), ct).ConfigureAwait(false) is { } sidecar
                && BlobMetadata.ReadKey(sidecar.Metadata) is { } key && key.KeyId == manifest.DataKey.KeyId && key.KeyVersion > manifest.DataKey.KeyVersion)
                return key;
        }
        catch (BlobStoreException)
        {
        }
        return manifest.DataKey;
    }
}
