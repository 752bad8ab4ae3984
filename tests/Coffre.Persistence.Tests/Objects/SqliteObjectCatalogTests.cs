using Coffre.Objects.Catalog;
using Coffre.Sqlite.Objects;
using Microsoft.Data.Sqlite;

namespace Coffre.Persistence.Tests.Objects;

/// <summary>The catalog contract on SQLite: one file in a temporary directory; several instances are several
/// catalogs opened on that file, as `coffre serve` and `coffre rewrap` do.</summary>
public sealed class SqliteObjectCatalogTests : ObjectCatalogContractTests
{
    private readonly string _directory = Directory.CreateTempSubdirectory("coffre-catalog-").FullName;

    private string DatabasePath => Path.Combine(_directory, "catalog.db");

    protected override Task CreateDatabaseAsync() => Task.CompletedTask;

    protected override Task<IObjectCatalog> OpenAsync(TimeProvider time) => Task.FromResult<IObjectCatalog>(SqliteObjectCatalog.Open(DatabasePath, time));

    protected override Task RefuseObjectWritesAsync(bool refuse)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = refuse
            ? $"""
              CREATE TRIGGER refuse_insert BEFORE INSERT ON objects BEGIN SELECT RAISE(ABORT, '{RefusalText}'); END;
              CREATE TRIGGER refuse_update BEFORE UPDATE ON objects BEGIN SELECT RAISE(ABORT, '{RefusalText}'); END;
              CREATE TRIGGER refuse_delete BEFORE DELETE ON objects BEGIN SELECT RAISE(ABORT, '{RefusalText}'); END;
              """
            : "DROP TRIGGER refuse_insert; DROP TRIGGER refuse_update; DROP TRIGGER refuse_delete;";
        cmd.ExecuteNonQuery();
        return Task.CompletedTask;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
