using System.Diagnostics;
using System.Security.Cryptography;
using Coffre.Objects.Catalog;
using Coffre.Objects.Streams;
using Coffre.Storage;
using Coffre.Storage.Placement;

namespace Coffre.Objects.Placement;

/// <summary>`coffre migrate BUCKET --to BACKEND [--from BACKEND] [--delete-source]`.</summary>
/// <param name="Parallelism">Blobs copied at once.</param>
public sealed record MigrationRequest(string Bucket, string To, string? From = null, bool DeleteSource = false, int Parallelism = 8);

/// <summary>Where a migration stands, reported after every page and at the end.</summary>
/// <param name="Objects">Objects done in the current phase (all runs).</param>
/// <param name="Bytes">Ciphertext bytes copied (all runs and phases).</param>
/// <param name="BytesThisRun">Bytes copied by this run, over <paramref name="Elapsed"/>: the rate.</param>
public sealed record MigrationProgress(string Bucket, string From, string To, MigrationPhase Phase, long Objects, long TotalObjects, long Bytes,
    long TotalBytes, long BytesThisRun, TimeSpan Elapsed)
{
    public double BytesPerSecond => Elapsed.TotalSeconds > 0 ? BytesThisRun / Elapsed.TotalSeconds : 0;

    /// <summary>Time left for the copy at the current rate; null outside the copy phase or before there is a rate.</summary>
    public TimeSpan? Eta => Phase == MigrationPhase.Copying && BytesPerSecond > 0
        ? TimeSpan.FromSeconds(Math.Max(0, TotalBytes - Bytes) / BytesPerSecond) : null;
}

/// <summary>What a finished migration did.</summary>
public sealed record MigrationResult(string Bucket, string From, string To, IReadOnlyList<string> Backends, long Objects, long Bytes,
    long CopiedInVerification, long SourceCopiesDeleted, TimeSpan Elapsed);

public enum MigrationError
{
    /// <summary>The request cannot be carried out as asked (unknown bucket, same backend twice, a placement rule broken).</summary>
    Invalid,
    /// <summary>Another migration of the bucket is under way.</summary>
    Conflict,
    /// <summary>A copy could not be made: its blob is missing or differs from the catalog, or its backends could not be reached.</summary>
    CopyFailed,
    /// <summary>A copy was written but does not read back as written (length, header or SHA-256): retried, since a blob
    /// rewritten while it is read back can read torn.</summary>
    CopyMismatch,
}

public sealed class MigrationException(MigrationError error, string message, Exception? inner = null) : Exception(message, inner)
{
    public MigrationError Error { get; } = error;
}

/// <summary>
/// Moves a bucket's copies from one backend to another, as ciphertext (no key is used), while servers keep reading and
/// writing it. The state lives in the catalog database (<see cref="IPlacementStateStore"/>), read by every server
/// within <see cref="MigrationStates.RefreshBound"/>: from the start, servers write new blobs to both sides; once every
/// object is copied and verified, the bucket's placement names the target, every object is checked once more (what a
/// write in flight at the start placed on the source only is copied then), writes stop going to the source, and its
/// copies are deleted if asked. Each phase walks every object version (<see cref="VersionWalk"/>: noncurrent versions
/// move too) in name order and saves its cursor after every page, so a run killed at any point resumes where it
/// stopped. Reads never fail meanwhile: the placement layer reads from any backend that holds a blob.
/// A step that needs every server to have seen a state waits until <see cref="SettleTime"/> has passed since that state
/// was saved, counting the work done meanwhile: the walk that verifies waits on the migration's start, the final sweep
/// on the switch to deleting; no other step waits.
/// </summary>
public sealed class BucketMigration(IObjectCatalog catalog, PlacementBlobStore store, IPlacementStateStore states, TimeProvider time)
{
    private const int PageSize = 200;

    /// <summary>How long after a change of state every server has seen it (twice their refresh bound).</summary>
    public TimeSpan SettleTime { get; init; } = 2 * MigrationStates.RefreshBound;

    /// <summary>When this run saved the switch to deleting (or found it saved): the sweep waits on it.</summary>
    private DateTimeOffset _deletingSince;

    public async Task<MigrationResult> RunAsync(MigrationRequest request, IProgress<MigrationProgress>? progress = null, CancellationToken ct = default)
    {
        var started = Stopwatch.GetTimestamp();
        _deletingSince = default;
        store.Placement.Apply(await states.ListAsync(ct).ConfigureAwait(false));
        var state = await StartOrResumeAsync(request, ct).ConfigureAwait(false);
        var migration = state.Migration!;
        var (totalObjects, totalBytes) = await CountAsync(request.Bucket, ct).ConfigureAwait(false);
        long bytesThisRun = 0, verifiedCopies = 0, deleted = 0;

        void Report(PlacementMigration m, long objects) => progress?.Report(new MigrationProgress(request.Bucket, m.From, m.To, m.Phase, objects,
            totalObjects, m.Bytes, totalBytes, Interlocked.Read(ref bytesThisRun), Stopwatch.GetElapsedTime(started)));

        if (migration.Phase == MigrationPhase.Copying)
        {
            migration = await WalkAsync(state, migration, async (record, m) =>
            {
                long bytes = 0;
                foreach (var item in ObjectBlobs.Of(record)) bytes += await CopyAsync(m, item, ct).ConfigureAwait(false);
                Interlocked.Add(ref bytesThisRun, bytes);
                return bytes;
            }, request.Parallelism, Report, ct).ConfigureAwait(false);
            var (_, uploadBytes) = await CopyUploadsAsync(request.Bucket, migration, verifyOnly: false, ct).ConfigureAwait(false);
            bytesThisRun += uploadBytes;
            migration = migration with { Bytes = migration.Bytes + uploadBytes };
            // Servers write to both sides in this phase as in the last: none needs to see the switch before the walk below.
            state = state with { Backends = Switched(request.Bucket, migration), Migration = migration with { Phase = MigrationPhase.Verifying, Cursor = null } };
            await SaveAsync(state, ct).ConfigureAwait(false);
            migration = state.Migration!;
        }
        if (migration.Phase == MigrationPhase.Verifying)
        {
            // Every object once more, by length on the target: a write that started before the servers saw the migration
            // may have committed its object after the copy walk passed its name, with its blobs on the source only. So
            // every server must write to both sides by now: the walk starts once they have all seen the start.
            await SettleSinceAsync(migration.Started, ct).ConfigureAwait(false);
            migration = await WalkAsync(state, migration, async (record, m) =>
            {
                long bytes = 0;
                foreach (var item in ObjectBlobs.Of(record))
                    if (await PresentAsync(store.Backend(m.To), item, ct).ConfigureAwait(false))
                    {
                        // Stated again, as checked (a killed run may have lost its last records); an absent sidecar is not a copy.
                        if (!item.OptionalAnnex) store.Copies?.Record(BlobCopyChange.Holds(item.Key, m.To));
                    }
                    else
                    {
                        bytes += await CopyAsync(m, item, ct).ConfigureAwait(false);
                        Interlocked.Increment(ref verifiedCopies);
                    }
                Interlocked.Add(ref bytesThisRun, bytes);
                return bytes;
            }, request.Parallelism, Report, ct).ConfigureAwait(false);
            var (uploadCopies, uploadBytes) = await CopyUploadsAsync(request.Bucket, migration, verifyOnly: true, ct).ConfigureAwait(false);
            verifiedCopies += uploadCopies;
            bytesThisRun += uploadBytes;
            migration = migration with { Bytes = migration.Bytes + uploadBytes };
            state = state with { Migration = migration with { Phase = MigrationPhase.Deleting, Cursor = null } };
            await SaveAsync(state, ct).ConfigureAwait(false);
            migration = state.Migration!;
        }
        if (_deletingSince == default) _deletingSince = time.GetUtcNow(); // resumed in this phase: as if saved now
        if (migration.DeleteSource)
        {
            var source = store.Backend(migration.From);
            migration = await WalkAsync(state, migration, async (record, m) =>
            {
                foreach (var item in ObjectBlobs.Of(record)) await DeleteSourceCopyAsync(source, m, item.Key, ct).ConfigureAwait(false);
                Interlocked.Increment(ref deleted);
                return 0;
            }, request.Parallelism, Report, ct).ConfigureAwait(false);
            deleted += await SweepSourceAsync(request.Bucket, migration, ct).ConfigureAwait(false);
            foreach (var upload in await catalog.ListUploadsAsync(request.Bucket, "", ct).ConfigureAwait(false))
                foreach (var part in await catalog.ListUploadPartsAsync(upload.UploadId, ct).ConfigureAwait(false))
                    await DeleteSourceCopyAsync(source, migration, part.Part.Blob, ct).ConfigureAwait(false);
        }
        var done = state with { Migration = null };
        await states.SaveAsync(done, ct).ConfigureAwait(false);
        store.Placement.Apply(await states.ListAsync(ct).ConfigureAwait(false));
        return new MigrationResult(request.Bucket, migration.From, migration.To, done.Backends ?? [], totalObjects, migration.Bytes, verifiedCopies, deleted,
            Stopwatch.GetElapsedTime(started));
    }

    private async Task<BucketPlacementState> StartOrResumeAsync(MigrationRequest request, CancellationToken ct)
    {
        var bucket = request.Bucket;
        if (await catalog.GetBucketAsync(bucket, ct).ConfigureAwait(false) is null)
            throw new MigrationException(MigrationError.Invalid, $"No bucket named '{bucket}' in the catalog.");
        var known = await states.GetAsync(bucket, ct).ConfigureAwait(false) ?? new BucketPlacementState(bucket, null, null);
        if (known.Migration is { } running)
        {
            if (running.To != request.To || (request.From is not null && request.From != running.From))
                throw new MigrationException(MigrationError.Conflict,
                    $"Bucket '{bucket}' is being migrated from '{running.From}' to '{running.To}' ({running.Phase}); " +
                    $"run `coffre migrate {bucket} --to {running.To}` to finish that migration first.");
            var resumed = known with { Migration = running with { DeleteSource = running.DeleteSource || request.DeleteSource } };
            await states.SaveAsync(resumed, ct).ConfigureAwait(false);
            return resumed;
        }
        _ = Backend(request.To);
        IReadOnlyList<string> copies;
        try
        {
            copies = store.Placement.CopiesOf(bucket);
        }
        catch (PlacementException e)
        {
            throw new MigrationException(MigrationError.Invalid, e.Message, e);
        }
        var from = request.From ?? (copies.Count == 1 ? copies[0]
            : throw new MigrationException(MigrationError.Invalid,
                $"Bucket '{bucket}' has copies on {string.Join(", ", copies)}: say which one to replace with --from."));
        _ = Backend(from);
        if (!copies.Contains(from))
            throw new MigrationException(MigrationError.Invalid, $"Bucket '{bucket}' has no copies on '{from}' (its copies: {string.Join(", ", copies)}).");
        if (copies.Contains(request.To))
            throw new MigrationException(MigrationError.Invalid, $"Bucket '{bucket}' already has its copies on '{request.To}' (its copies: {string.Join(", ", copies)}).");
        var target = Replace(copies, from, request.To);
        var decision = store.Placement.Planner.Decide($"bucket '{bucket}' moved to {string.Join(", ", target)}", store.Placement.PolicyOf(bucket).WithBackends(target));
        if (!decision.IsSatisfied)
            throw new MigrationException(MigrationError.Invalid, $"Moving bucket '{bucket}' from '{from}' to '{request.To}' would break its placement policy: " +
                string.Join(" ", decision.Problems));
        // The copy walk need not wait for servers to see the start: what they write meanwhile to the source only, the verify walk finds.
        var state = known with { Migration = new PlacementMigration(from, request.To, MigrationPhase.Copying, null, 0, 0, request.DeleteSource, time.GetUtcNow()) };
        await SaveAsync(state, ct).ConfigureAwait(false);
        return state;
    }

    private async Task DeleteSourceCopyAsync(IBlobStore source, PlacementMigration migration, string key, CancellationToken ct)
    {
        await source.DeleteAsync(key, ct).ConfigureAwait(false);
        store.Copies?.Record(BlobCopyChange.Lost(key, migration.From));
    }

    /// <summary>
    /// After the delete walk, once servers have had the settle time since the switch to deleting to finish what they
    /// started: the object versions whose blobs the catalog records on the source still (a write that committed its
    /// object after the walk passed its name) lose that copy too. Reads the record only (no backend listing); returns
    /// the versions swept.
    /// </summary>
    private async Task<long> SweepSourceAsync(string bucket, PlacementMigration migration, CancellationToken ct)
    {
        if (store.Copies is not { } copies) return 0;
        await SettleSinceAsync(_deletingSince, ct).ConfigureAwait(false);
        await copies.FlushAsync().ConfigureAwait(false);
        var source = store.Backend(migration.From);
        long swept = 0;
        for (var cursor = VersionCursor.After(null); ;)
        {
            var (records, next, more) = await VersionWalk.NextAsync(catalog, bucket, cursor, PageSize, ct).ConfigureAwait(false);
            var blobs = records.Select(r => ObjectBlobs.Of(r).Select(i => i.Key).ToList()).ToList();
            var onSource = (await copies.Store.OfAsync(blobs.SelectMany(b => b).ToList(), ct).ConfigureAwait(false))
                .Where(c => c.Backend == migration.From).Select(c => c.Blob).ToHashSet(StringComparer.Ordinal);
            foreach (var keys in blobs.Where(keys => keys.Any(onSource.Contains)))
            {
                foreach (var key in keys) await DeleteSourceCopyAsync(source, migration, key, ct).ConfigureAwait(false);
                swept++;
            }
            if (!more) return swept;
            cursor = next;
        }
    }

    private IBlobStore Backend(string name)
    {
        try
        {
            return store.Backend(name);
        }
        catch (ArgumentException e)
        {
            throw new MigrationException(MigrationError.Invalid, e.Message, e);
        }
    }

    private static List<string> Replace(IReadOnlyList<string> copies, string from, string to) => copies.Select(c => c == from ? to : c).ToList();

    /// <summary>The candidates the bucket is switched to: its copies with the source replaced by the target.</summary>
    private List<string> Switched(string bucket, PlacementMigration migration)
    {
        var decision = store.Placement.Decide(bucket);
        return Replace(decision.Copies, migration.From, migration.To);
    }

    private async Task SaveAsync(BucketPlacementState state, CancellationToken ct)
    {
        await states.SaveAsync(state, ct).ConfigureAwait(false);
        store.Placement.Apply(await states.ListAsync(ct).ConfigureAwait(false));
        if (state.Migration?.Phase == MigrationPhase.Deleting) _deletingSince = time.GetUtcNow();
    }

    /// <summary>Waits until <see cref="SettleTime"/> has passed since <paramref name="saved"/>: at once when the work done since took that long.</summary>
    private Task SettleSinceAsync(DateTimeOffset saved, CancellationToken ct)
    {
        var left = saved + SettleTime - time.GetUtcNow();
        return left > TimeSpan.Zero ? Task.Delay(left, time, ct) : Task.CompletedTask;
    }

    /// <summary>The object versions of the bucket and their ciphertext bytes, for progress.</summary>
    private async Task<(long Objects, long Bytes)> CountAsync(string bucket, CancellationToken ct)
    {
        long objects = 0, bytes = 0;
        for (var cursor = VersionCursor.After(null); ;)
        {
            var (records, next, more) = await VersionWalk.NextAsync(catalog, bucket, cursor, 1000, ct).ConfigureAwait(false);
            objects += records.Count;
            bytes += records.Sum(r => r.Parts.Sum(p => p.CipherSize));
            if (!more) return (objects, bytes);
            cursor = next;
        }
    }

    /// <summary>Runs <paramref name="step"/> on every object version after the phase's cursor, a page at a time, saving the cursor (the last name done) and counters after each page.</summary>
    private async Task<PlacementMigration> WalkAsync(BucketPlacementState state, PlacementMigration migration,
        Func<ObjectRecord, PlacementMigration, Task<long>> step, int parallelism, Action<PlacementMigration, long> report, CancellationToken ct)
    {
        long objects = migration.Phase == MigrationPhase.Copying ? migration.Objects : 0;
        for (var cursor = VersionCursor.After(migration.Cursor); ;)
        {
            var (records, next, more) = await VersionWalk.NextAsync(catalog, state.Bucket, cursor, PageSize, ct).ConfigureAwait(false);
            long bytes = 0;
            await Parallel.ForEachAsync(records, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = ct },
                async (record, _) => Interlocked.Add(ref bytes, await step(record, migration).ConfigureAwait(false))).ConfigureAwait(false);
            objects += records.Count;
            migration = migration with
            {
                Cursor = next.Done,
                Objects = migration.Phase == MigrationPhase.Copying ? objects : migration.Objects,
                Bytes = migration.Bytes + bytes,
            };
            await states.SaveAsync(state with { Migration = migration }, ct).ConfigureAwait(false);
            report(migration, objects);
            if (!more) return migration;
            cursor = next;
        }
    }

    /// <summary>The parts of multipart uploads still open: copied (when verifying, only those missing) so that completing them later loses nothing.</summary>
    private async Task<(long Copies, long Bytes)> CopyUploadsAsync(string bucket, PlacementMigration migration, bool verifyOnly, CancellationToken ct)
    {
        long copies = 0, bytes = 0;
        foreach (var upload in await catalog.ListUploadsAsync(bucket, "", ct).ConfigureAwait(false))
            foreach (var part in await catalog.ListUploadPartsAsync(upload.UploadId, ct).ConfigureAwait(false))
            {
                var item = new RepairItem(part.Part.Blob, part.Part.CipherSize, part.Part.Header);
                if (verifyOnly && await PresentAsync(store.Backend(migration.To), item, ct).ConfigureAwait(false)) continue;
                bytes += await CopyAsync(migration, item, ct).ConfigureAwait(false);
                copies++;
            }
        return (copies, bytes);
    }

    /// <summary>Whether the target holds the blob at its catalog length (an absent sidecar counts as present when the source has none either).</summary>
    private async Task<bool> PresentAsync(IBlobStore target, RepairItem item, CancellationToken ct)
    {
        var info = await target.HeadAsync(item.Key, ct).ConfigureAwait(false);
        if (item.ExpectedLength is { } length) return info?.Length == length;
        return info is not null || await store.HoldersAsync(item.Key, ct).ConfigureAwait(false) is { Count: 0 };
    }

    private Task<long> CopyAsync(PlacementMigration migration, RepairItem item, CancellationToken ct) =>
        CopyRetry.RunAsync(() => CopyOnceAsync(migration, item, ct), IsTransient, time, ct);

    /// <summary>What a later attempt may not meet: an unreachable backend, an I/O error, a copy that read back torn.
    /// A blob on no backend, or whose length differs from the catalog, is not retried.</summary>
    private static bool IsTransient(Exception e) => CopyRetry.IsTransient(e) || e switch
    {
        MigrationException { Error: MigrationError.CopyMismatch } => true,
        MigrationException { Error: MigrationError.CopyFailed, InnerException: { } inner } => CopyRetry.IsTransient(inner),
        _ => false,
    };

    /// <summary>
    /// Copies one blob to the target as it is (ciphertext and metadata), verified: the source must have the length and
    /// first bytes the catalog recorded, and the copy must hold what was read. A backend that checks each write against a
    /// digest sent with it (<see cref="IBlobStore.ChecksWrites"/>: S3's Content-MD5) has verified the copy when the put
    /// succeeds; any other is read back and compared by SHA-256. Returns the bytes copied (0 for a sidecar that does not
    /// exist). The source is the backend being left, else another old copy.
    /// </summary>
    private async Task<long> CopyOnceAsync(PlacementMigration migration, RepairItem item, CancellationToken ct)
    {
        var target = store.Backend(migration.To);
        BlobReadResult? read = null;
        BlobStoreException? failure = null;
        foreach (var name in new[] { migration.From }.Concat(store.Backends.Select(b => b.Name).Where(n => n != migration.From && n != migration.To)))
        {
            try
            {
                read = await store.Backend(name).GetAsync(item.Key, 0, null, ct).ConfigureAwait(false);
                break;
            }
            catch (BlobStoreException e)
            {
                failure ??= e is BlobNotFoundException ? null : e;
            }
        }
        if (read is null)
        {
            if (item.OptionalAnnex && failure is null) return 0;
            throw new MigrationException(MigrationError.CopyFailed, failure is null
                ? $"Blob {BlobKeys.ForDisplay(item.Key)} is on no backend of the bucket: run `coffre repair` (or restore it) before migrating."
                : $"Blob {BlobKeys.ForDisplay(item.Key)} could not be read from '{migration.From}' or another copy: {failure.Message}", failure);
        }
        byte[] sourceDigest;
        var prefixMatches = true;
        await using (read)
        {
            if (item.ExpectedLength is { } expected && read.TotalLength != expected)
                throw new MigrationException(MigrationError.CopyFailed,
                    $"Blob {BlobKeys.ForDisplay(item.Key)} is {read.TotalLength} bytes on the source but the catalog says {expected}: run `coffre repair` first.");
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long position = 0;
            await using var observed = new ObservedReadStream(read.Content, chunk =>
            {
                prefixMatches &= item.PrefixAgrees(position, chunk);
                position += chunk.Length;
                if (!target.ChecksWrites) sha.AppendData(chunk);
            }, leaveOpen: true);
            await target.PutAsync(item.Key, observed, read.TotalLength, read.Metadata, ct).ConfigureAwait(false);
            sourceDigest = sha.GetHashAndReset();
        }
        if (!prefixMatches)
            throw new MigrationException(MigrationError.CopyFailed,
                $"Blob {BlobKeys.ForDisplay(item.Key)} on the source does not begin with the header the catalog recorded: run `coffre repair` first.");
        if (!target.ChecksWrites && (await BlobRepairer.CheckAsync(target, item, ct).ConfigureAwait(false) is not { } copied
                                     || !CryptographicOperations.FixedTimeEquals(copied, sourceDigest)))
            throw new MigrationException(MigrationError.CopyMismatch,
                $"The copy of {BlobKeys.ForDisplay(item.Key)} on '{migration.To}' does not read back as written (length, header or SHA-256): check that backend, then run the migration again.");
        store.Copies?.Record(BlobCopyChange.Holds(item.Key, migration.To));
        return read.TotalLength;
    }
}
