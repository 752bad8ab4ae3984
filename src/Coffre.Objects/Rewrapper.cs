using Coffre.Objects.Catalog;
using Coffre.Objects.Keys;
using Coffre.Storage;

namespace Coffre.Objects;

/// <summary>What to rewrap: one bucket and/or one key (null: all), at most this many objects per second (null: no limit).</summary>
public sealed record RewrapRequest(string? Bucket = null, string? KeyRef = null, double? ObjectsPerSecond = null);

public readonly record struct RewrapProgress(long Done, long Total, long Skipped);

public sealed record RewrapResult(long Rewrapped, long Skipped, long Remaining);

/// <summary>
/// Moves objects' data keys to the primary version of their key, without touching object data:
/// only the wrapped data key changes, in the object's sidecar blob (docs/format.md §5), its manifest (§12) and then in
/// the catalog, so the cost of a rewrap does not depend on the object's size. Safe to
/// stop at any point and run again (it picks up what is still below the primary version), and
/// correct while objects are written or deleted: the catalog update is a compare-and-swap on the
/// wrapped key, so an object replaced meanwhile keeps its own, newer data key.
/// </summary>
public sealed class Rewrapper(IObjectCatalog catalog, IBlobStore blobs, IDataKeyService keys, TimeProvider time)
{
    private const int Batch = 256;
    private const int Concurrency = 16;
    private readonly Manifests.ManifestWriter _manifests = new(blobs, keys, catalog);
    private long _rewrappedTotal;

    /// <summary>Objects rewrapped by this instance since it was created (for /metrics).</summary>
    public long RewrappedTotal => Interlocked.Read(ref _rewrappedTotal);

    /// <summary>Objects still below their key's primary version.</summary>
    public async Task<long> PendingAsync(RewrapRequest request, CancellationToken ct = default)
    {
        long pending = 0;
        foreach (var id in await KeyIdsAsync(request, ct).ConfigureAwait(false))
            pending += await catalog.CountBelowVersionAsync(id, keys.PrimaryVersion(id), request.Bucket, ct).ConfigureAwait(false);
        return pending;
    }

    /// <param name="fence">Awaited before each object's first write; throws to stop the run (background work whose lease
    /// passed to another instance must not overwrite that instance's newer sidecar). Null: nothing to check.</param>
    public async Task<RewrapResult> RunAsync(RewrapRequest request, string principal, IProgress<RewrapProgress>? progress = null, CancellationToken ct = default,
        Func<CancellationToken, Task>? fence = null)
    {
        var targets = (await KeyIdsAsync(request, ct).ConfigureAwait(false)).Select(id => (Id: id, Primary: keys.PrimaryVersion(id))).ToList();
        long total = 0;
        foreach (var (id, primary) in targets)
            total += await catalog.CountBelowVersionAsync(id, primary, request.Bucket, ct).ConfigureAwait(false);
        long done = 0, skipped = 0;
        var pacer = new Pacer(request.ObjectsPerSecond, time);
        // Objects are rewrapped several at a time: each one waits on durable writes (audit, sidecar
        // blob, catalog), which group commit turns into one fsync for all those in flight.
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = ct };
        foreach (var (keyId, primary) in targets)
        {
            // The sweep passes over switched-off keys: their objects stay where they are, counted as
            // remaining, without a refused RewrapDataKey record at every maintenance run.
            if (request.KeyRef is null && !keys.IsEnabled(keyId)) continue;
            try
            {
                await RewrapKeyAsync(keyId, primary).ConfigureAwait(false);
            }
            catch (ObjectStoreException e) when (request.KeyRef is null && e.Error is ObjectError.KeyDisabled or ObjectError.KeyInvalidState)
            {
                // Disabled meanwhile, or old versions retired below the objects' version: the sweep
                // goes on with the other keys — a kill switch must not stop maintenance.
            }
        }
        long remaining = 0;
        foreach (var (id, _) in targets)
            remaining += await catalog.CountBelowVersionAsync(id, keys.PrimaryVersion(id), request.Bucket, ct).ConfigureAwait(false);
        return new RewrapResult(done, skipped, remaining);

        async Task RewrapKeyAsync(string keyId, int primary)
        {
            (string, string, string)? after = null;
            while (true)
            {
                var page = await catalog.ObjectsBelowVersionAsync(keyId, primary, request.Bucket, after, Batch, ct).ConfigureAwait(false);
                if (page.Count == 0) break;
                await Parallel.ForEachAsync(page, parallel, async (record, token) =>
                {
                    await pacer.WaitAsync(token).ConfigureAwait(false);
                    if (fence is not null) await fence(token).ConfigureAwait(false);
                    if (await RewrapOneAsync(record, principal, token).ConfigureAwait(false))
                    {
                        Interlocked.Increment(ref done);
                        Interlocked.Increment(ref _rewrappedTotal);
                    }
                    else
                    {
                        Interlocked.Increment(ref skipped);
                    }
                    progress?.Report(new RewrapProgress(Interlocked.Read(ref done), total, Interlocked.Read(ref skipped)));
                }).ConfigureAwait(false);
                after = (page[^1].Bucket, page[^1].Name, page[^1].VersionId);
            }
        }
    }

    private async Task<bool> RewrapOneAsync(ObjectRecord record, string principal, CancellationToken ct)
    {
        var fresh = keys.RewrapDataKey(record.Key, ObjectBinding.WrapContext(record.Bucket, record.Name), principal);
        // Blobs first, catalog last: a crash in between leaves the catalog on the old (still valid)
        // version, so the object is picked up again by the next run. The part blobs are not touched:
        // one empty sidecar blob per object takes the new wrapped key, whatever the object's size.
        var first = record.Parts[0].Blob;
        var sidecar = BlobMetadata.SidecarKey(first);
        await blobs.PutAsync(sidecar, Stream.Null, 0, BlobMetadata.Sidecar(fresh, record.Parts.Count), ct).ConfigureAwait(false);
        // The manifest again, under a data key of the primary version: it must outlive the old version's destruction.
        if (await catalog.GetBucketAsync(record.Bucket, ct).ConfigureAwait(false) is { } bucket)
            await _manifests.WriteAsync(bucket, record with { Key = fresh },
                await catalog.GetVersionLockAsync(record.Bucket, record.Name, record.VersionId, ct).ConfigureAwait(false), principal, ct).ConfigureAwait(false);
        if (await catalog.ReplaceWrappedKeyAsync(record.Bucket, record.Name, record.Key, fresh, ct).ConfigureAwait(false)) return true;
        // Replaced or deleted meanwhile: the sidecar (and manifest) belong to blobs nothing references any more, and
        // their garbage collection may already be over. Another rewrapper that won on the same blobs
        // wrapped the same data key under the same primary version: its sidecar or ours, either is valid.
        if ((await catalog.GetVersionAsync(record.Bucket, record.Name, record.VersionId, ct).ConfigureAwait(false))?.Record?.Parts[0].Blob != first)
        {
            await blobs.DeleteAsync(sidecar, CancellationToken.None).ConfigureAwait(false);
            await blobs.DeleteAsync(Manifests.ObjectManifest.KeyOf(first), CancellationToken.None).ConfigureAwait(false);
        }
        return false;
    }

    private async Task<IReadOnlyList<string>> KeyIdsAsync(RewrapRequest request, CancellationToken ct) =>
        request.KeyRef is { } k ? [keys.ResolveKeyId(k)] : await catalog.KeysInUseAsync(ct).ConfigureAwait(false);

    /// <summary>Spaces starts at most <c>rate</c> per second across all workers (no limit when null).</summary>
    private sealed class Pacer(double? rate, TimeProvider time)
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private readonly long _interval = rate is > 0 ? (long)(time.TimestampFrequency / rate.Value) : 0;
        private long _next = time.GetTimestamp();

        public async Task WaitAsync(CancellationToken ct)
        {
            if (_interval == 0) return;
            await _gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                var now = time.GetTimestamp();
                if (_next > now) await Task.Delay(time.GetElapsedTime(now, _next), time, ct).ConfigureAwait(false);
                _next = Math.Max(_next, now) + _interval;
            }
            finally
            {
                _gate.Release();
            }
        }
    }
}
