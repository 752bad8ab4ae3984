using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Coffre.Storage.Placement;

/// <summary>A named backend under the placement layer.</summary>
public sealed record PlacementBackend(string Name, IBlobStore Store);

/// <summary>
/// The placement layer: one <see cref="IBlobStore"/> over several named backends. A put writes every copy the bucket's
/// policy requires, in parallel from one pass over the body, and returns only when all are durable; if one fails, the
/// copies already written are deleted and the put fails with that backend's error. A get reads from the fastest healthy
/// backend holding the blob and, should it fail or stall mid-body, resumes from the same offset on another copy.
/// It handles ciphertext only: no key is needed to copy, compare or repair a blob.
/// </summary>
public sealed class PlacementBlobStore : IBlobStore, IDisposable
{
    /// <summary>How much of a body may wait, per copy, for the slowest backend before the reader pauses.</summary>
    private const int PipeBufferBytes = 1 << 20;

    private readonly Dictionary<string, PlacementBackend> _backends;

    public PlacementBlobStore(IReadOnlyList<PlacementBackend> backends, BucketPlacement placement)
    {
        if (backends.Count == 0) throw new ArgumentException("At least one backend is needed.", nameof(backends));
        _backends = backends.ToDictionary(b => b.Name, StringComparer.Ordinal);
        Placement = placement;
        Health = new BackendHealth(_backends.Keys);
        _erasure = new ErasureBlobStore(this);
    }

    private readonly ErasureBlobStore _erasure;

    internal ErasureBlobStore Erasure => _erasure;

    /// <summary>The erasure coding of the current scope's bucket, for its object blobs (annexes and checkpoints are whole copies); else null.</summary>
    private ErasurePolicy? ErasureFor(string key) =>
        PlacementScope.Bucket is { } bucket && AnnexBase(key) is null && !key.StartsWith(BlobKeys.AuditCheckpointPrefix, StringComparison.Ordinal)
            ? Placement.PolicyOf(bucket).Erasure : null;

    public BucketPlacement Placement { get; }

    /// <summary>Where the copies each write, repair, migration and delete made are recorded (the catalog database); null: nowhere.</summary>
    public BlobCopyLedger? Copies { get; private set; }

    /// <summary>Starts recording copies in <paramref name="copies"/> (once the catalog database is open, after the backends).</summary>
    public void RecordCopiesIn(IBlobCopyStore copies) => Copies = new BlobCopyLedger(copies);
    public BackendHealth Health { get; }
    public IReadOnlyCollection<PlacementBackend> Backends => _backends.Values;

    /// <summary>How long one read of a body may wait for bytes before the copy is abandoned for another.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public string Name => "placement";

    public string Describe() => "placement over " + string.Join(", ", _backends.Values.Select(b => $"{b.Name} ({b.Store.Describe()})"));

    public IBlobStore Backend(string name) => _backends.TryGetValue(name, out var b) ? b.Store
        : throw new ArgumentException($"No backend named '{name}' (configured: {string.Join(", ", _backends.Keys)}).", nameof(name));

    // ---------------- writes ----------------

    /// <summary>
    /// The backends a new blob goes to: audit checkpoints to every backend; inside a bucket's scope, its copies; an
    /// annex (<c>base.suffix</c>, e.g. a rewrap sidecar) beside its base blob; anything else by the default placement.
    /// </summary>
    public async Task<IReadOnlyList<string>> TargetsAsync(string key, CancellationToken ct)
    {
        if (key.StartsWith(BlobKeys.AuditCheckpointPrefix, StringComparison.Ordinal)) return _backends.Keys.ToList();
        if (PlacementScope.Bucket is null && AnnexBase(key) is { } baseKey)
        {
            var holders = await HoldersAsync(baseKey, ct).ConfigureAwait(false);
            if (holders.Count > 0) return holders;
        }
        try
        {
            return Placement.CopiesOf(PlacementScope.Bucket);
        }
        catch (PlacementException e)
        {
            throw new BlobStoreException(BlobStoreError.Backend, Name, key, e.Message, e);
        }
    }

    private static string? AnnexBase(string key)
    {
        var slash = key.LastIndexOf('/');
        var dot = key.LastIndexOf('.');
        return dot > slash + 1 ? key[..dot] : null;
    }

    /// <summary>The backends that hold <paramref name="key"/> (those that cannot answer are left out).</summary>
    public async Task<IReadOnlyList<string>> HoldersAsync(string key, CancellationToken ct)
    {
        var heads = _backends.Values.Select(async b =>
        {
            try
            {
                return await b.Store.HeadAsync(key, ct).ConfigureAwait(false) is null ? null : b.Name;
            }
            catch (BlobStoreException)
            {
                return null;
            }
        });
        return (await Task.WhenAll(heads).ConfigureAwait(false)).OfType<string>().Order(StringComparer.Ordinal).ToList();
    }

    public async Task PutAsync(string key, Stream content, long? length, IReadOnlyDictionary<string, string> metadata,
        CancellationToken cancellationToken = default)
    {
        var targets = await TargetsAsync(key, cancellationToken).ConfigureAwait(false);
        if (ErasureFor(key) is { } erasure)
        {
            await _erasure.PutAsync(targets, erasure, key, content, length, metadata, cancellationToken).ConfigureAwait(false);
            return;
        }
        await PutToAsync(targets, key, content, length, metadata, cancellationToken).ConfigureAwait(false);
        if (PlacementScope.Bucket is { } bucket) await FollowPlacementAsync(bucket, key, targets, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A write long enough to span a change of its bucket's placement (a migration starting, switching or ending)
    /// ends with its copies where the placement now says, before it is acknowledged: a copy the new placement needs
    /// is made from one just written, and one it no longer needs is removed. Without this, a write whose targets were
    /// chosen before a migration started could leave its blob on the source only once the migration's walks had
    /// passed its name, and one chosen before the source was dropped could leave a copy there.
    /// </summary>
    private async Task FollowPlacementAsync(string bucket, string key, IReadOnlyList<string> written, CancellationToken ct)
    {
        IReadOnlyList<string> now;
        try
        {
            now = Placement.CopiesOf(bucket);
        }
        catch (PlacementException)
        {
            return; // the new placement cannot be met: the copies just written stay where they are, for repair to report
        }
        var missing = now.Except(written, StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            var source = written[0];
            await using var read = await Backend(source).GetAsync(key, 0, null, ct).ConfigureAwait(false);
            await PutToAsync(missing, key, read.Content, read.TotalLength, read.Metadata, ct).ConfigureAwait(false);
        }
        foreach (var extra in written.Except(now, StringComparer.Ordinal))
        {
            try
            {
                await Observed(extra, () => Backend(extra).DeleteAsync(key, ct)).ConfigureAwait(false);
                Copies?.Record(BlobCopyChange.Lost(key, extra));
            }
            catch (BlobStoreException)
            {
                // A copy beyond the placement harms nothing: reads may use it, and it is recorded as held.
            }
        }
    }

    /// <summary>Writes the blob to exactly <paramref name="targets"/> (all or none), as <see cref="PutAsync"/> does.</summary>
    public async Task PutToAsync(IReadOnlyList<string> targets, string key, Stream content, long? length,
        IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken = default)
    {
        if (targets.Count == 1)
        {
            await Observed(targets[0], () => Backend(targets[0]).PutAsync(key, content, length, metadata, cancellationToken)).ConfigureAwait(false);
            Copies?.Record(BlobCopyChange.Holds(key, targets[0]));
            return;
        }
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pipes = targets.Select(_ => new Pipe(new PipeOptions(pauseWriterThreshold: PipeBufferBytes, resumeWriterThreshold: PipeBufferBytes / 2,
            useSynchronizationContext: false))).ToArray();
        var puts = targets.Select((name, i) => PutCopyAsync(name, key, pipes[i].Reader, length, metadata, abort)).ToArray();
        var pump = PumpAsync(content, pipes.Select(p => p.Writer).ToArray(), abort.Token);
        try
        {
            await Task.WhenAll([.. puts, pump]).ConfigureAwait(false);
            Copies?.Record(targets.Select(t => BlobCopyChange.Holds(key, t)));
            return;
        }
        catch
        {
            // Fall through: decide below which failure the caller sees, once every task has ended.
        }
        await DeleteWrittenAsync(targets, puts, key).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        // The body's own failure (the client went away, a size limit the caller enforces while it is read) comes first;
        // a cancellation of the pump caused by a failed copy does not count as one.
        if (pump.Exception?.InnerException is { } bodyFailure and not OperationCanceledException) throw Rethrow(bodyFailure);
        var copyFailure = puts.Select(p => p.Exception?.InnerException).FirstOrDefault(e => e is not null and not OperationCanceledException);
        throw Rethrow(copyFailure ?? new BlobStoreException(BlobStoreError.Unavailable, Name, key, $"Writing {BlobKeys.ForDisplay(key)} was interrupted."));
    }

    private static Exception Rethrow(Exception e)
    {
        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e).Throw();
        return e;
    }

    private async Task PutCopyAsync(string name, string key, PipeReader reader, long? length, IReadOnlyDictionary<string, string> metadata,
        CancellationTokenSource abort)
    {
        try
        {
            await using var body = reader.AsStream();
            await Observed(name, () => Backend(name).PutAsync(key, body, length, metadata, abort.Token)).ConfigureAwait(false);
        }
        catch
        {
            // One copy failed: the whole write fails, so stop the others at once.
            await abort.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Reads the body once and hands every chunk to each copy's pipe (each pipe copies it; the buffer is reused).</summary>
    private static async Task PumpAsync(Stream content, PipeWriter[] writers, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            int n;
            while ((n = await content.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                foreach (var writer in writers)
                    await writer.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
            foreach (var writer in writers) await writer.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            foreach (var writer in writers) await writer.CompleteAsync(e).ConfigureAwait(false);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Removes the copies a failed write completed, so that no backend keeps a blob the others lack. (A put that
    /// replaced an existing blob loses the old one there too: Coffre's object blobs are written once under fresh keys.)
    /// </summary>
    internal async Task DeleteWrittenAsync(IReadOnlyList<string> targets, Task[] puts, string key)
    {
        for (var i = 0; i < targets.Count; i++)
        {
            try
            {
                await puts[i].ConfigureAwait(false);
            }
            catch
            {
                continue;
            }
            try
            {
                await Backend(targets[i]).DeleteAsync(key, CancellationToken.None).ConfigureAwait(false);
            }
            catch (BlobStoreException)
            {
                // Left for `coffre repair`, which reports blobs on backends outside their placement.
            }
        }
    }

    /// <summary>Runs one backend call, recording its outcome in <see cref="Health"/> (<paramref name="read"/>: it opens a read).</summary>
    internal async Task<T> Observed<T>(string backend, Func<Task<T>> call, bool read = false)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await call().ConfigureAwait(false);
            Health.Succeeded(backend, Stopwatch.GetElapsedTime(started), read);
            return result;
        }
        catch (BlobStoreException e) when (e.Error is BlobStoreError.Unavailable or BlobStoreError.Backend)
        {
            Health.Failed(backend, e.Message);
            throw;
        }
        catch (BlobStoreException)
        {
            Health.Succeeded(backend, Stopwatch.GetElapsedTime(started)); // it answered: the blob is missing or the body was wrong
            throw;
        }
    }

    internal Task Observed(string backend, Func<Task> call) => Observed(backend, async () =>
    {
        await call().ConfigureAwait(false);
        return true;
    });

    // ---------------- reads ----------------

    /// <summary>Backends to read from: the bucket's copies first (fastest healthy first), then any other that may hold the blob.</summary>
    internal IReadOnlyList<string> ReadOrder()
    {
        var preferred = PlacementScope.Bucket is { } bucket && Placement.Decide(bucket) is { IsSatisfied: true } d ? d.Copies : [];
        return [.. Health.ReadOrder(preferred), .. Health.ReadOrder(_backends.Keys.Except(preferred))];
    }

    /// <summary>
    /// Backends to read <paramref name="key"/> from: first those the record says hold it (fastest healthy first), then
    /// the others in <see cref="ReadOrder()"/>. The placement's order alone when the record has nothing (a blob written
    /// before the record existed, or whose batch of records was lost) or cannot be asked: the record orders reads, it
    /// never fails one.
    /// </summary>
    internal async Task<IReadOnlyList<string>> ReadOrderAsync(string key, CancellationToken ct)
    {
        if (Copies is not { } copies) return ReadOrder();
        IReadOnlyList<BlobCopy> recorded;
        try
        {
            recorded = await copies.Store.OfAsync([key], ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return ReadOrder();
        }
        var holders = recorded.Select(c => c.Backend).Where(_backends.ContainsKey).Distinct(StringComparer.Ordinal).ToList();
        return holders.Count == 0 ? ReadOrder() : [.. Health.ReadOrder(holders), .. ReadOrder().Except(holders, StringComparer.Ordinal)];
    }

    public async Task<BlobReadResult> GetAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        var order = await ReadOrderAsync(key, cancellationToken).ConfigureAwait(false);
        if (ErasureFor(key) is not null && await _erasure.TryGetAsync(key, offset, length, order, cancellationToken).ConfigureAwait(false) is { } coded)
            return coded;
        BlobReadResult result;
        string backend;
        try
        {
            (result, backend) = await OpenAsync(key, offset, length, order, new HashSet<string>(), cancellationToken).ConfigureAwait(false);
        }
        catch (ArgumentOutOfRangeException) when (ErasureFor(key) is null)
        {
            // Past the end of a share is not past the end of the blob it is part of (read outside its bucket's scope).
            if (await _erasure.TryGetAsync(key, offset, length, order, cancellationToken).ConfigureAwait(false) is { } share) return share;
            throw;
        }
        if (ErasureBlobStore.IsShare(result.Metadata))
        {
            await result.DisposeAsync().ConfigureAwait(false);
            return await _erasure.TryGetAsync(key, offset, length, order, cancellationToken).ConfigureAwait(false)
                ?? throw new BlobStoreException(BlobStoreError.Corrupt, Name, key, $"The shares of {BlobKeys.ForDisplay(key)} vanished while it was read.");
        }
        var stream = new FailoverReadStream(this, key, result, backend, order);
        return new BlobReadResult(key, stream, result.Offset, result.Length, result.TotalLength, result.Metadata);
    }

    /// <summary>Opens the range on the first backend of <paramref name="order"/> (not in <paramref name="skip"/>) that serves it.</summary>
    internal async Task<(BlobReadResult Result, string Backend)> OpenAsync(string key, long offset, long? length, IReadOnlyList<string> order,
        IReadOnlySet<string> skip, CancellationToken ct)
    {
        BlobStoreException? failure = null;
        foreach (var name in order.Where(n => !skip.Contains(n)))
        {
            try
            {
                return (await Observed(name, () => Backend(name).GetAsync(key, offset, length, ct), read: true).ConfigureAwait(false), name);
            }
            catch (BlobNotFoundException)
            {
            }
            catch (BlobStoreException e) when (e.Error is BlobStoreError.Unavailable or BlobStoreError.Backend or BlobStoreError.Corrupt)
            {
                failure ??= e;
            }
        }
        // Missing somewhere and unreachable elsewhere: it may well exist, so this is an outage, not a missing blob.
        if (failure is not null)
            throw new BlobStoreException(BlobStoreError.Unavailable, Name, key,
                $"No copy of {BlobKeys.ForDisplay(key)} could be read; the first failure: {failure.Message}", failure);
        throw new BlobNotFoundException(Name, key);
    }

    public async Task<BlobInfo?> HeadAsync(string key, CancellationToken cancellationToken = default)
    {
        BlobStoreException? failure = null;
        foreach (var name in ReadOrder())
        {
            try
            {
                if (await Observed(name, () => Backend(name).HeadAsync(key, cancellationToken)).ConfigureAwait(false) is { } info)
                    return ErasureBlobStore.IsShare(info.Metadata) ? await _erasure.HeadAsync(key, info, ReadOrder(), cancellationToken).ConfigureAwait(false) : info;
            }
            catch (BlobStoreException e) when (e.Error is BlobStoreError.Unavailable or BlobStoreError.Backend)
            {
                failure ??= e;
            }
        }
        if (failure is not null)
            throw new BlobStoreException(BlobStoreError.Unavailable, Name, key, $"No copy of {BlobKeys.ForDisplay(key)} could be asked; the first failure: {failure.Message}", failure);
        return null;
    }

    /// <summary>Deletes every copy, everywhere; fails (to be retried) if a backend could not be reached.</summary>
    public async Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var deletes = _backends.Keys.Select(name => Observed(name, () => Backend(name).DeleteAsync(key, cancellationToken))).ToArray();
        try
        {
            await Task.WhenAll(deletes).ConfigureAwait(false);
            Copies?.Record(BlobCopyChange.Deleted(key));
        }
        catch
        {
            Copies?.Record(_backends.Keys.Where((_, i) => deletes[i].IsCompletedSuccessfully).Select(name => BlobCopyChange.Lost(key, name)));
            var failed = deletes.Select((t, i) => (t, i)).Where(x => x.t.IsFaulted).Select(x => x.t.Exception!.InnerException!).First();
            throw new BlobStoreException(BlobStoreError.Unavailable, Name, key, $"Deleting every copy of {BlobKeys.ForDisplay(key)} failed: {failed.Message}", failed);
        }
    }

    /// <summary>Every blob on any backend, each key once.</summary>
    public async IAsyncEnumerable<BlobListEntry> ListAsync(string prefix = "", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var backend in _backends.Values.OrderBy(b => b.Name, StringComparer.Ordinal))
            await foreach (var entry in backend.Store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
                if (seen.Add(entry.Key)) yield return entry;
    }

    public async Task<BlobRecoveryReport> RecoverAsync(TimeSpan minimumAge, CancellationToken cancellationToken = default)
    {
        int temp = 0, orphans = 0;
        foreach (var backend in _backends.Values)
        {
            var r = await backend.Store.RecoverAsync(minimumAge, cancellationToken).ConfigureAwait(false);
            temp += r.TempFilesDeleted;
            orphans += r.OrphanBodiesDeleted;
        }
        return new BlobRecoveryReport(temp, orphans);
    }

    public void Dispose()
    {
#pragma warning disable VSTHRD002 // at shutdown or the end of a command: the last batch of copy records is written before the backends close
        Copies?.DisposeAsync().AsTask().GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
        foreach (var b in _backends.Values) (b.Store as IDisposable)?.Dispose();
    }
}
