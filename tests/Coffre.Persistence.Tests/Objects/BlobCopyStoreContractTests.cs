using Coffre.Objects.Catalog;
using Coffre.Postgres.Objects;
using Coffre.Sqlite.Objects;
using Coffre.Storage.Placement;
using Coffre.TestSupport;
using Microsoft.Data.Sqlite;

namespace Coffre.Persistence.Tests.Objects;

/// <summary>
/// What an <see cref="IBlobCopyStore"/> promises, on every implementation: copies (whole or erasure shares) are
/// recorded and read back by blob, changes apply in order within a batch, a lost copy and a deleted blob are
/// forgotten, a large question is answered whole, and another instance on the same database sees every change.
/// </summary>
public abstract class BlobCopyStoreContractTests : IAsyncLifetime
{
    protected abstract Task<IBlobCopyStore> OpenAsync();

    protected IBlobCopyStore Store { get; private set; } = null!;

    public virtual async Task InitializeAsync() => Store = await OpenAsync();

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Copies_and_shares_are_recorded_and_read_back_by_blob_in_order()
    {
        await Store.ApplyAsync([
            BlobCopyChange.Holds("objects/b", "s3rver"), BlobCopyChange.Holds("objects/b", "moto"),
            BlobCopyChange.Holds("objects/a", "local"),
            BlobCopyChange.Holds("objects/coded", "moto", 0), BlobCopyChange.Holds("objects/coded", "s3rver", 2),
        ]);
        Assert.Equal([new BlobCopy("objects/a", "local"), new BlobCopy("objects/b", "moto"), new BlobCopy("objects/b", "s3rver")],
            await Store.OfAsync(["objects/b", "objects/a", "objects/none"]));
        Assert.Equal([new BlobCopy("objects/coded", "moto", 0), new BlobCopy("objects/coded", "s3rver", 2)], await Store.OfAsync(["objects/coded"]));
        Assert.Empty(await Store.OfAsync([]));
    }

    [Fact]
    public async Task Changes_apply_in_order_a_lost_copy_goes_and_a_deleted_blob_is_forgotten_everywhere()
    {
        await Store.ApplyAsync([BlobCopyChange.Holds("objects/x", "old"), BlobCopyChange.Holds("objects/x", "new"), BlobCopyChange.Holds("objects/y", "old")]);
        // Within one batch the last change to a copy wins: lost, then held again (a repair rewrote it).
        await Store.ApplyAsync([BlobCopyChange.Lost("objects/x", "old"), BlobCopyChange.Lost("objects/y", "old"), BlobCopyChange.Holds("objects/y", "old", 1)]);
        Assert.Equal([new BlobCopy("objects/x", "new"), new BlobCopy("objects/y", "old", 1)], await Store.OfAsync(["objects/x", "objects/y"]));

        await Store.ApplyAsync([BlobCopyChange.Deleted("objects/x"), BlobCopyChange.Holds("objects/y", "old")]);
        Assert.Equal([new BlobCopy("objects/y", "old")], await Store.OfAsync(["objects/x", "objects/y"]));
        // Recording a copy twice, or losing one never recorded, is no error.
        await Store.ApplyAsync([BlobCopyChange.Holds("objects/y", "old"), BlobCopyChange.Lost("objects/z", "old"), BlobCopyChange.Deleted("objects/z")]);
        Assert.Single(await Store.OfAsync(["objects/y", "objects/z"]));
    }

    [Fact]
    public async Task A_question_about_many_blobs_is_answered_whole()
    {
        var blobs = Enumerable.Range(0, 1_700).Select(i => $"objects/{i:D5}").ToList();
        await Store.ApplyAsync(blobs.Select(b => BlobCopyChange.Holds(b, "moto")).ToList());
        var copies = await Store.OfAsync(blobs);
        Assert.Equal(blobs, copies.Select(c => c.Blob));
    }

    [Fact]
    public async Task Another_instance_sees_every_change()
    {
        var other = await OpenAsync();
        await Store.ApplyAsync([BlobCopyChange.Holds("objects/é", "moto")]);
        Assert.Equal([new BlobCopy("objects/é", "moto")], await other.OfAsync(["objects/é"]));
        await other.ApplyAsync([BlobCopyChange.Lost("objects/é", "moto")]);
        Assert.Empty(await Store.OfAsync(["objects/é"]));
    }

    [Fact]
    public async Task The_ledger_records_off_the_caller_and_a_flush_waits_for_what_came_before()
    {
        await using var ledger = new BlobCopyLedger(Store);
        for (var i = 0; i < 500; i++) ledger.Record(BlobCopyChange.Holds($"objects/{i:D3}", i % 2 == 0 ? "even" : "odd"));
        ledger.Record(BlobCopyChange.Deleted("objects/000"));
        await ledger.FlushAsync();
        var copies = await Store.OfAsync(Enumerable.Range(0, 500).Select(i => $"objects/{i:D3}").ToList());
        Assert.Equal(499, copies.Count);
        Assert.Equal(0, ledger.Failures);
    }
}

/// <summary>The record of copies in the SQLite catalog file, beside (and before or after) the catalog's own tables.</summary>
public sealed class SqliteBlobCopyStoreTests : BlobCopyStoreContractTests
{
    private readonly string _directory = Directory.CreateTempSubdirectory("coffre-copies-").FullName;

    private string DatabasePath => Path.Combine(_directory, "catalog.db");

    protected override Task<IBlobCopyStore> OpenAsync() => Task.FromResult<IBlobCopyStore>(SqliteBlobCopyStore.Open(DatabasePath));

    [Fact]
    public async Task The_table_joins_an_existing_catalog_file_and_the_catalog_still_opens()
    {
        await using (var catalog = SqliteObjectCatalog.Open(DatabasePath))
            Assert.True(await catalog.TryCreateBucketAsync(new BucketRecord("b", "k", DateTimeOffset.UnixEpoch)));
        await SqliteBlobCopyStore.Open(DatabasePath).ApplyAsync([BlobCopyChange.Holds("objects/a", "local")]);
        await using (var catalog = SqliteObjectCatalog.Open(DatabasePath))
            Assert.NotNull(await catalog.GetBucketAsync("b"));
        Assert.Single(await SqliteBlobCopyStore.Open(DatabasePath).OfAsync(["objects/a"]));
    }

    public override Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return Task.CompletedTask;
    }
}

/// <summary>The record of copies in PostgreSQL (catalog migration 0007), one fresh database per test.</summary>
public sealed class PostgresBlobCopyStoreTests : BlobCopyStoreContractTests
{
    private string _connectionString = null!;
    private readonly List<PostgresBlobCopyStore> _opened = [];

    public override async Task InitializeAsync()
    {
        _connectionString = await PostgresServer.CreateSharedDatabaseAsync();
        await base.InitializeAsync();
    }

    protected override async Task<IBlobCopyStore> OpenAsync()
    {
        var store = await PostgresBlobCopyStore.OpenAsync(_connectionString);
        _opened.Add(store);
        return store;
    }

    [Fact]
    public async Task The_catalog_and_the_copies_share_one_schema_migrated_once()
    {
        await using var catalog = await PostgresObjectCatalog.OpenAsync(_connectionString);
        Assert.True(await catalog.TryCreateBucketAsync(new BucketRecord("b", "k", DateTimeOffset.UnixEpoch)));
        await (await OpenAsync()).ApplyAsync([BlobCopyChange.Holds("objects/a", "moto")]);
        Assert.Single(await Store.OfAsync(["objects/a"]));
    }

    public override async Task DisposeAsync()
    {
        foreach (var store in _opened) await store.DisposeAsync();
    }
}
