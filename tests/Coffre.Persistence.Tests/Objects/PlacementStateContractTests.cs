using Coffre.Objects.Catalog;
using Coffre.Postgres.Objects;
using Coffre.Sqlite.Objects;
using Coffre.Storage.Placement;
using Coffre.TestSupport;
using Microsoft.Data.Sqlite;

namespace Coffre.Persistence.Tests.Objects;

/// <summary>
/// What an <see cref="IPlacementStateStore"/> promises, on every implementation: states round-trip whole (switched
/// backends, a migration with its cursor and counters), a save replaces, an empty state is removed, and a second
/// instance on the same database (another `coffre serve`, the `coffre migrate` process) sees every change.
/// </summary>
public abstract class PlacementStateContractTests : IAsyncLifetime
{
    protected abstract Task<IPlacementStateStore> OpenAsync();

    /// <summary>The store under test (the first instance on a fresh database).</summary>
    protected IPlacementStateStore Store { get; private set; } = null!;

    public virtual async Task InitializeAsync() => Store = await OpenAsync();

    public virtual Task DisposeAsync() => Task.CompletedTask;

    private static readonly PlacementMigration Migration =
        new("moto", "s3rver", MigrationPhase.Copying, "dir/é0042", 43, 4_300_000_000, true, new DateTimeOffset(2026, 11, 29, 18, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task A_new_database_has_no_states()
    {
        Assert.Empty(await Store.ListAsync());
        Assert.Null(await Store.GetAsync("health"));
    }

    [Fact]
    public async Task A_state_round_trips_whole_and_a_save_replaces_it()
    {
        await Store.SaveAsync(new BucketPlacementState("health", null, Migration));
        var read = await Store.GetAsync("health");
        Assert.Equal(Migration, read!.Migration);
        Assert.Null(read.Backends);

        var switched = new BucketPlacementState("health", ["s3rver", "local"], Migration with { Phase = MigrationPhase.Verifying, Cursor = null });
        await Store.SaveAsync(switched);
        read = await Store.GetAsync("health");
        Assert.Equal(["s3rver", "local"], read!.Backends);
        Assert.Equal(switched.Migration, read.Migration);

        await Store.SaveAsync(switched with { Migration = null });
        read = await Store.GetAsync("health");
        Assert.Null(read!.Migration);
        Assert.Equal(["s3rver", "local"], read.Backends);
    }

    [Fact]
    public async Task A_state_with_nothing_left_is_removed_and_states_list_by_bucket()
    {
        await Store.SaveAsync(new BucketPlacementState("zeta", ["a"], null));
        await Store.SaveAsync(new BucketPlacementState("alpha", null, Migration));
        await Store.SaveAsync(new BucketPlacementState("mid", ["b"], null));
        Assert.Equal(["alpha", "mid", "zeta"], (await Store.ListAsync()).Select(s => s.Bucket));

        await Store.SaveAsync(new BucketPlacementState("mid", null, null));
        Assert.Null(await Store.GetAsync("mid"));
        Assert.Equal(["alpha", "zeta"], (await Store.ListAsync()).Select(s => s.Bucket));
    }

    [Fact]
    public async Task Another_instance_sees_every_change()
    {
        var other = await OpenAsync();
        await Store.SaveAsync(new BucketPlacementState("health", null, Migration));
        Assert.Equal(Migration, (await other.GetAsync("health"))!.Migration);
        await other.SaveAsync(new BucketPlacementState("health", ["s3rver"], null));
        Assert.Equal(["s3rver"], (await Store.ListAsync()).Single().Backends);
    }
}

/// <summary>The placement states in the SQLite catalog file, beside (and before or after) the catalog's own tables.</summary>
public sealed class SqlitePlacementStateTests : PlacementStateContractTests
{
    private readonly string _directory = Directory.CreateTempSubdirectory("coffre-placement-").FullName;

    private string DatabasePath => Path.Combine(_directory, "catalog.db");

    protected override Task<IPlacementStateStore> OpenAsync() => Task.FromResult<IPlacementStateStore>(SqlitePlacementStateStore.Open(DatabasePath));

    [Fact]
    public async Task The_table_can_be_created_before_the_catalog_and_the_catalog_still_opens()
    {
        await using var catalog = SqliteObjectCatalog.Open(DatabasePath);
        Assert.True(await catalog.TryCreateBucketAsync(new BucketRecord("b", "k", DateTimeOffset.UnixEpoch)));
        Assert.NotNull(SqlitePlacementStateStore.Open(DatabasePath));
    }

    public override Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return Task.CompletedTask;
    }
}

/// <summary>The placement states in PostgreSQL (migration 0004), one fresh database per test.</summary>
public sealed class PostgresPlacementStateTests : PlacementStateContractTests
{
    private string _connectionString = null!;
    private readonly List<PostgresPlacementStateStore> _opened = [];

    public override async Task InitializeAsync()
    {
        _connectionString = await PostgresServer.CreateSharedDatabaseAsync();
        await base.InitializeAsync();
    }

    protected override async Task<IPlacementStateStore> OpenAsync()
    {
        var store = await PostgresPlacementStateStore.OpenAsync(_connectionString);
        _opened.Add(store);
        return store;
    }

    [Fact]
    public async Task The_catalog_and_the_placement_states_share_one_schema_migrated_once()
    {
        await using var catalog = await PostgresObjectCatalog.OpenAsync(_connectionString);
        Assert.True(await catalog.TryCreateBucketAsync(new BucketRecord("b", "k", DateTimeOffset.UnixEpoch)));
        await (await OpenAsync()).SaveAsync(new BucketPlacementState("b", ["x"], null));
        Assert.Equal(["x"], (await Store.GetAsync("b"))!.Backends);
    }

    public override async Task DisposeAsync()
    {
        foreach (var store in _opened) await store.DisposeAsync();
    }
}
