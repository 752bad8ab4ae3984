using System.Net;
using System.Net.Sockets;
using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Postgres.Objects;
using Coffre.TestSupport;
using Npgsql;

namespace Coffre.Persistence.Tests.Objects;

/// <summary>The catalog contract on a real PostgreSQL (one fresh database per test), and what only a database
/// server adds: migrations applied once by instances starting together, an unreachable or restarted server.</summary>
public sealed class PostgresObjectCatalogTests : ObjectCatalogContractTests
{
    private string _connectionString = null!;

    protected override async Task CreateDatabaseAsync() => _connectionString = await PostgresServer.CreateSharedDatabaseAsync();

    protected override async Task<IObjectCatalog> OpenAsync(TimeProvider time) => await PostgresObjectCatalog.OpenAsync(_connectionString, time);

    protected override Task RefuseObjectWritesAsync(bool refuse) => SqlAsync(_connectionString, refuse
        ? $"""
          CREATE FUNCTION catalog.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{RefusalText}'; END $$;
          CREATE TRIGGER refuse BEFORE INSERT OR UPDATE OR DELETE ON catalog.objects FOR EACH ROW EXECUTE FUNCTION catalog.refuse();
          """
        : "DROP TRIGGER refuse ON catalog.objects; DROP FUNCTION catalog.refuse();");

    private static async Task SqlAsync(string connectionString, string sql)
    {
        await using var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        return await cmd.ExecuteScalarAsync();
    }

    [Fact]
    public async Task Instances_starting_together_apply_each_migration_once()
    {
        var database = await PostgresServer.CreateSharedDatabaseAsync();
        var catalogs = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => PostgresObjectCatalog.OpenAsync(database))));
        Assert.Equal((long)CatalogMigrations.Scripts.Count, await ScalarAsync(database, "SELECT count(*) FROM catalog.schema_version"));
        Assert.True(await catalogs[0].TryCreateBucketAsync(new BucketRecord("b", "k", DateTimeOffset.UnixEpoch)));
        Assert.NotNull(await catalogs[5].GetBucketAsync("b"));
        foreach (var c in catalogs) await c.DisposeAsync();
    }

    [Fact]
    public async Task A_catalog_from_a_newer_coffre_is_refused_with_its_version()
    {
        await SqlAsync(_connectionString, $"INSERT INTO catalog.schema_version(version) VALUES ({CatalogMigrations.Latest + 1})");
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => PostgresObjectCatalog.OpenAsync(_connectionString));
        Assert.Contains($"schema version {CatalogMigrations.Latest + 1}", e.Message);
        Assert.Contains("newer Coffre", e.Message);
    }

    [Fact]
    public async Task An_unreachable_database_is_catalog_unavailable()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there any more
        var unreachable = new NpgsqlConnectionStringBuilder(_connectionString) { Port = port, Timeout = 2 }.ConnectionString;
        var e = await Assert.ThrowsAsync<ObjectStoreException>(() => PostgresObjectCatalog.OpenAsync(unreachable));
        Assert.Equal(ObjectError.CatalogUnavailable, e.Error);
    }

    [Fact]
    public async Task A_stopped_server_fails_requests_as_unavailable_and_they_succeed_once_it_is_back()
    {
        await using var server = await PostgresServer.StartAsync();
        var database = await server.CreateDatabaseAsync();
        await using var catalog = await PostgresObjectCatalog.OpenAsync(database, Time);
        Assert.True(await catalog.TryCreateBucketAsync(new BucketRecord("b", "k", DateTimeOffset.UnixEpoch)));
        await catalog.CommitObjectAsync(Record("before", bucket: "b"));

        await server.StopAsync(immediate: true);
        var e = await Assert.ThrowsAsync<ObjectStoreException>(() => catalog.CommitObjectAsync(Record("during", bucket: "b")));
        Assert.Equal(ObjectError.CatalogUnavailable, e.Error);
        e = await Assert.ThrowsAsync<ObjectStoreException>(() => catalog.GetObjectAsync("b", "before"));
        Assert.Equal(ObjectError.CatalogUnavailable, e.Error);

        await server.StartAsync();
        // The pool's broken connections are replaced: the first requests after the restart may still fail, never for long.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await catalog.CommitObjectAsync(Record("after", bucket: "b"));
                break;
            }
            catch (ObjectStoreException retry) when (retry.Error == ObjectError.CatalogUnavailable && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
        Assert.NotNull(await catalog.GetObjectAsync("b", "before"));
        Assert.NotNull(await catalog.GetObjectAsync("b", "after"));
        Assert.Null(await catalog.GetObjectAsync("b", "during"));
    }
}
