using System.Collections.Concurrent;
using System.IO.Pipelines;
using Coffre.Objects.Catalog;
using Coffre.Objects.Keys;
using Coffre.Objects.Placement;
using Coffre.Objects.Versions;
using Coffre.Sqlite.Objects;
using Coffre.Storage;
using Coffre.Storage.Placement;
using Coffre.TestSupport;
using Microsoft.Data.Sqlite;

namespace Coffre.Server.Tests.Placement;

/// <summary>
/// A write that spans a change of its bucket's placement ends where the placement says when it is acknowledged, and
/// the catalog records where each copy is: the window in which a blob written while a migration started or ended
/// stayed on the source only (or left a copy there) is closed. Reads, repair and migration decide from that record, and
/// a copy that fails for a moment is retried on the caller's clock while a permanent failure is reported at once.
/// </summary>
public sealed class MigrationWindowTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("coffre-window-").FullName;
    private static readonly Dictionary<string, string> Meta = new() { ["coffre-part"] = "1" };

    private string CatalogPath => Path.Combine(_dir, "catalog.db");

    /// <summary>Two local disks, "old" and "new", each its own operator; bucket "b" has one copy, on "old" (or <paramref name="copies"/>);
    /// <paramref name="wrapOld"/> may put a fault in front of "old".</summary>
    private (PlacementBlobStore Store, LocalDiskBlobStore Old, LocalDiskBlobStore New) Stores(string[]? copies = null, Func<IBlobStore, IBlobStore>? wrapOld = null)
    {
        copies ??= ["old"];
        var old = new LocalDiskBlobStore(Path.Combine(_dir, "old"));
        var @new = new LocalDiskBlobStore(Path.Combine(_dir, "new"));
        var catalog = ProviderCatalog.Load(ProviderCatalog.ShippedPath);
        var facts = new[] { "old", "new" }.Select(n => BackendFacts.Resolve(n, null, new FactsOptions { Country = "FR", Operator = "Operator " + n, Jurisdiction = "FR" }, catalog))
            .ToDictionary(f => f.Backend, StringComparer.Ordinal);
        var placement = new BucketPlacement(new PlacementPlanner(facts), new PlacementPolicy { Backends = ["old"] },
            new Dictionary<string, PlacementPolicy> { ["b"] = new() { Backends = [.. copies], Copies = copies.Length } });
        Assert.Empty(placement.Problems());
        var store = new PlacementBlobStore([new PlacementBackend("old", wrapOld?.Invoke(old) ?? old), new PlacementBackend("new", @new)], placement);
        store.RecordCopiesIn(SqliteBlobCopyStore.Open(CatalogPath));
        return (store, old, @new);
    }

    [Fact]
    public async Task A_write_begun_before_a_migration_and_ended_after_it_lands_on_the_new_placement_only()
    {
        await using var catalog = SqliteObjectCatalog.Open(CatalogPath);
        Assert.True(await catalog.TryCreateBucketAsync(new BucketRecord("b", "k", DateTimeOffset.UtcNow)));
        var (store, old, @new) = Stores();
        using var _ = store;
        var body = Enumerable.Range(0, 300_000).Select(i => (byte)(i * 7)).ToArray();
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0)); // the test writes the body ahead of the reader
        await pipe.Writer.WriteAsync(body.AsMemory(0, 100_000));

        // The write chooses its copies (the source only) and starts streaming to it...
        Task put;
        using (PlacementScope.Enter("b"))
            put = store.PutAsync("objects/slow", pipe.Reader.AsStream(), body.Length, Meta);
        await WaitUntilAsync(() => Directory.Exists(Path.Combine(_dir, "old")) && Directory.EnumerateFiles(Path.Combine(_dir, "old"), "*", SearchOption.AllDirectories).Any());

        // ...while a whole migration to "new", with the source deleted, runs and ends.
        var migration = new BucketMigration(catalog, store, SqlitePlacementStateStore.Open(CatalogPath), TimeProvider.System) { SettleTime = TimeSpan.Zero };
        var result = await migration.RunAsync(new MigrationRequest("b", "new", DeleteSource: true));
        Assert.Equal(["new"], result.Backends);
        Assert.False(put.IsCompleted);

        await pipe.Writer.WriteAsync(body.AsMemory(100_000));
        await pipe.Writer.CompleteAsync();
        await put;

        // Acknowledged on the placement now in force, and only there.
        Assert.Equal(body.Length, (await @new.HeadAsync("objects/slow"))?.Length);
        Assert.Null(await old.HeadAsync("objects/slow"));
        await store.Copies!.FlushAsync();
        Assert.Equal([new BlobCopy("objects/slow", "new")], await store.Copies.Store.OfAsync(["objects/slow"]));
    }

    [Fact]
    public async Task Writes_deletes_and_repairs_record_which_backends_hold_each_blob()
    {
        var (store, old, @new) = Stores();
        using var _ = store;
        var copies = store.Copies!;
        using (PlacementScope.Enter("b"))
        {
            using var body = new MemoryStream(new byte[5000]);
            await store.PutAsync("objects/a", body, 5000, Meta);
        }
        await store.PutToAsync(["old", "new"], "objects/both", new MemoryStream(new byte[10]), 10, Meta);
        await copies.FlushAsync();
        Assert.Equal([new BlobCopy("objects/a", "old"), new BlobCopy("objects/both", "new"), new BlobCopy("objects/both", "old")],
            await copies.Store.OfAsync(["objects/a", "objects/both"]));

        // A copy lost behind Coffre's back: the record still claims it until a repair pass states what it found.
        await @new.DeleteAsync("objects/both");
        await new LocalDiskBlobStore(Path.Combine(_dir, "old")).DeleteAsync("objects/a");
        var repairer = new BlobRepairer(store, TimeProvider.System);
        var rewritten = await repairer.RepairAsync(new RepairItem("objects/both", 10, []), ["old", "new"]);
        Assert.Equal(["new"], rewritten.Rewritten);
        var lost = await repairer.RepairAsync(new RepairItem("objects/a", 5000, []), ["old"]);
        Assert.NotNull(lost.Problem);
        await copies.FlushAsync();
        Assert.Equal([new BlobCopy("objects/both", "new"), new BlobCopy("objects/both", "old")], await copies.Store.OfAsync(["objects/a", "objects/both"]));

        await store.DeleteAsync("objects/both");
        await copies.FlushAsync();
        Assert.Empty(await copies.Store.OfAsync(["objects/both"]));
        Assert.Null(await old.HeadAsync("objects/both"));
    }

    [Fact]
    public async Task A_blob_on_no_backend_fails_the_migration_at_once_without_retries()
    {
        await using var catalog = SqliteObjectCatalog.Open(CatalogPath);
        Assert.True(await catalog.TryCreateBucketAsync(new BucketRecord("b", "k", DateTimeOffset.UtcNow)));
        await catalog.CommitObjectAsync(Record("lost", "objects/lost", 100));
        FlakyGets? flaky = null;
        var (store, _, _) = Stores(wrapOld: inner => flaky = new FlakyGets(inner, "objects/lost", failures: 0));
        using var _ = store;
        var time = new InstantPauses();
        var migration = new BucketMigration(catalog, store, SqlitePlacementStateStore.Open(CatalogPath), time) { SettleTime = TimeSpan.Zero };

        var e = await Assert.ThrowsAsync<MigrationException>(() => migration.RunAsync(new MigrationRequest("b", "new")));
        Assert.Equal(MigrationError.CopyFailed, e.Error);
        Assert.Contains("on no backend", e.Message);
        Assert.Equal(1, flaky!.Gets); // permanent: asked once, not four times
        Assert.Empty(time.Pauses);
    }

    [Fact]
    public async Task A_copy_whose_source_fails_for_a_moment_is_retried_on_the_migrations_clock()
    {
        await using var catalog = SqliteObjectCatalog.Open(CatalogPath);
        Assert.True(await catalog.TryCreateBucketAsync(new BucketRecord("b", "k", DateTimeOffset.UtcNow)));
        var (store, _, @new) = Stores(wrapOld: inner => new FlakyGets(inner, "objects/a", failures: 2));
        using var _ = store;
        await store.PutToAsync(["old"], "objects/a", new MemoryStream(new byte[100]), 100, Meta);
        await catalog.CommitObjectAsync(Record("a", "objects/a", 100));
        var time = new InstantPauses();
        var migration = new BucketMigration(catalog, store, SqlitePlacementStateStore.Open(CatalogPath), time) { SettleTime = TimeSpan.Zero };

        var result = await migration.RunAsync(new MigrationRequest("b", "new"));

        Assert.Equal(["new"], result.Backends);
        Assert.Equal(100, (await @new.HeadAsync("objects/a"))?.Length);
        Assert.Equal(2, time.Pauses.Count); // two failed attempts, each followed by a pause on the injected clock
    }

    [Fact]
    public async Task A_repair_whose_source_fails_for_a_moment_is_retried()
    {
        var (store, _, @new) = Stores(copies: ["old", "new"], wrapOld: inner => new FlakyGets(inner, "objects/a", failures: 2, after: 1));
        using var _ = store;
        await store.PutToAsync(["old"], "objects/a", new MemoryStream(new byte[100]), 100, Meta);

        // The first read (the check of the good copy) succeeds; the next two (the copy) fail for a moment.
        var outcome = await new BlobRepairer(store, new InstantPauses()).RepairAsync(new RepairItem("objects/a", 100, []), ["old", "new"]);

        Assert.Equal(["new"], outcome.Rewritten);
        Assert.Empty(outcome.Unreachable);
        Assert.Equal(100, (await @new.HeadAsync("objects/a"))?.Length);
    }

    [Fact]
    public async Task A_migration_moves_and_deletes_the_blobs_of_noncurrent_versions_too()
    {
        await using var catalog = SqliteObjectCatalog.Open(CatalogPath);
        Assert.True(await catalog.TryCreateBucketAsync(new BucketRecord("b", "k", DateTimeOffset.UtcNow) { Versioning = BucketVersioning.Enabled }));
        Assert.True(await catalog.SetBucketVersioningAsync("b", BucketVersioning.Enabled));
        var (store, old, @new) = Stores();
        using var _ = store;
        foreach (var (version, blob) in new[] { ("v1", "objects/doc-1"), ("v2", "objects/doc-2") })
        {
            await store.PutToAsync(["old"], blob, new MemoryStream(new byte[50]), 50, Meta);
            await catalog.CommitObjectAsync(Record("doc", blob, 50) with { VersionId = version });
        }
        var migration = new BucketMigration(catalog, store, SqlitePlacementStateStore.Open(CatalogPath), TimeProvider.System) { SettleTime = TimeSpan.Zero };

        var result = await migration.RunAsync(new MigrationRequest("b", "new", DeleteSource: true));

        Assert.Equal(2, result.Objects);
        foreach (var blob in new[] { "objects/doc-1", "objects/doc-2" })
        {
            Assert.Equal(50, (await @new.HeadAsync(blob))?.Length);
            Assert.Null(await old.HeadAsync(blob));
        }
    }

    [Fact]
    public async Task A_get_reads_first_from_the_backends_the_record_names()
    {
        var (store, old, _) = Stores();
        using var _ = store;
        // The record says "new" holds the blob; "old", first in the bucket's placement, has another body under that key.
        await store.PutToAsync(["new"], "objects/moved", new MemoryStream([1, 1, 1]), 3, Meta);
        await old.PutAsync("objects/moved", new MemoryStream([2, 2, 2]), 3, Meta);
        // No record at all: the placement's order.
        await old.PutAsync("objects/unrecorded", new MemoryStream([3, 3, 3]), 3, Meta);
        await store.Copies!.FlushAsync();

        using (PlacementScope.Enter("b"))
        {
            Assert.Equal(new byte[] { 1, 1, 1 }, await ReadAllAsync(store, "objects/moved"));
            Assert.Equal(new byte[] { 3, 3, 3 }, await ReadAllAsync(store, "objects/unrecorded"));
        }
    }

    [Fact]
    public async Task Repair_rewrites_the_copies_the_record_shows_missing_and_verify_reads_every_copy()
    {
        await using var catalog = SqliteObjectCatalog.Open(CatalogPath);
        Assert.True(await catalog.TryCreateBucketAsync(new BucketRecord("b", "k", DateTimeOffset.UtcNow)));
        var (store, _, @new) = Stores(copies: ["old", "new"]);
        using var _ = store;
        await store.PutToAsync(["old", "new"], "objects/both", new MemoryStream(new byte[40]), 40, Meta);
        await store.PutToAsync(["old"], "objects/one", new MemoryStream(new byte[40]), 40, Meta);
        await catalog.CommitObjectAsync(Record("both", "objects/both", 40));
        await catalog.CommitObjectAsync(Record("one", "objects/one", 40));
        await @new.DeleteAsync("objects/both"); // lost behind Coffre's back: the record still says "new" holds it

        async Task<List<string>> PassAsync(bool verify)
        {
            var rewritten = new List<string>();
            var (_, more) = await new CatalogRepair(catalog, store, TimeProvider.System, verify).RepairPageAsync("b", VersionCursor.After(null),
                (_, outcomes) => rewritten.AddRange(outcomes.Where(o => o.Rewritten.Count > 0).Select(o => o.Key)));
            Assert.False(more);
            return rewritten;
        }

        // From the record: the copy it shows missing is rewritten; the one it believes held is not even read.
        Assert.Equal(["objects/one"], await PassAsync(verify: false));
        Assert.Equal(40, (await @new.HeadAsync("objects/one"))?.Length);
        Assert.Null(await @new.HeadAsync("objects/both"));
        // --verify reads every copy, finds the lost one, and sets the record right.
        Assert.Equal(["objects/both"], await PassAsync(verify: true));
        Assert.Equal(40, (await @new.HeadAsync("objects/both"))?.Length);
        Assert.Empty(await PassAsync(verify: false));
    }

    private static ObjectRecord Record(string name, string blob, long cipherSize) =>
        new("b", name, cipherSize, "etag", DateTimeOffset.UtcNow, new WrappedKeyRef("k", 1, [1]), [1], [new StoredPart(0, blob, cipherSize, cipherSize, [], "00", null)]);

    private static async Task<byte[]> ReadAllAsync(IBlobStore store, string key)
    {
        await using var read = await store.GetAsync(key);
        using var body = new MemoryStream();
        await read.Content.CopyToAsync(body);
        return body.ToArray();
    }

    /// <summary>A backend whose whole-blob reads of one blob fail as unavailable <paramref name="failures"/> times, after <paramref name="after"/>
    /// good ones (ranged reads, such as a look for erasure shares, are not counted): a provider that blinks, which a test cannot otherwise time.</summary>
    private sealed class FlakyGets(IBlobStore inner, string key, int failures, int after = 0) : DelegatingBlobStore(inner)
    {
        private int _gets;

        public int Gets => _gets;

        public override Task<BlobReadResult> GetAsync(string k, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
        {
            if (k == key && length is null)
            {
                var n = Interlocked.Increment(ref _gets);
                if (n > after && n <= after + failures) throw new BlobStoreException(BlobStoreError.Unavailable, Name, k, "the provider blinked");
            }
            return base.GetAsync(k, offset, length, cancellationToken);
        }
    }

    /// <summary>A clock whose pauses end at once, and that counts them.</summary>
    private sealed class InstantPauses : TimeProvider
    {
        public ConcurrentQueue<TimeSpan> Pauses { get; } = new();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            if (dueTime > TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan) Pauses.Enqueue(dueTime);
            return System.CreateTimer(callback, state, dueTime == Timeout.InfiniteTimeSpan ? dueTime : TimeSpan.Zero, period);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the write did not start within a minute");
            await Task.Delay(20);
        }
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
