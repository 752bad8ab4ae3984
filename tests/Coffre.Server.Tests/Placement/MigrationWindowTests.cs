using System.IO.Pipelines;
using Coffre.Objects.Catalog;
using Coffre.Objects.Placement;
using Coffre.Sqlite.Objects;
using Coffre.Storage;
using Coffre.Storage.Placement;
using Microsoft.Data.Sqlite;

namespace Coffre.Server.Tests.Placement;

/// <summary>
/// A write that spans a change of its bucket's placement ends where the placement says when it is acknowledged, and
/// the catalog records where each copy is: the window in which a blob written while a migration started or ended
/// stayed on the source only (or left a copy there) is closed.
/// </summary>
public sealed class MigrationWindowTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("coffre-window-").FullName;
    private static readonly Dictionary<string, string> Meta = new() { ["coffre-part"] = "1" };

    private string CatalogPath => Path.Combine(_dir, "catalog.db");

    /// <summary>Two local disks, "old" and "new", each its own operator; bucket "b" has one copy, on "old".</summary>
    private (PlacementBlobStore Store, LocalDiskBlobStore Old, LocalDiskBlobStore New) Stores()
    {
        var old = new LocalDiskBlobStore(Path.Combine(_dir, "old"));
        var @new = new LocalDiskBlobStore(Path.Combine(_dir, "new"));
        var catalog = ProviderCatalog.Load(ProviderCatalog.ShippedPath);
        var facts = new[] { "old", "new" }.Select(n => BackendFacts.Resolve(n, null, new FactsOptions { Country = "FR", Operator = "Operator " + n, Jurisdiction = "FR" }, catalog))
            .ToDictionary(f => f.Backend, StringComparer.Ordinal);
        var placement = new BucketPlacement(new PlacementPlanner(facts), new PlacementPolicy { Backends = ["old"] },
            new Dictionary<string, PlacementPolicy> { ["b"] = new() { Backends = ["old"], Copies = 1 } });
        Assert.Empty(placement.Problems());
        var store = new PlacementBlobStore([new PlacementBackend("old", old), new PlacementBackend("new", @new)], placement);
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
        var repairer = new BlobRepairer(store);
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
