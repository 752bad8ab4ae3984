using Microsoft.Data.Sqlite;

namespace Coffre.Sqlite.Objects;

/// <summary>The catalog file as the stores beside the catalog open it (placement states, blob copies): their own table,
/// created if missing, in WAL mode as the catalog sets it, so that it can be created before the catalog's own tables.</summary>
internal static class SqliteCatalogFile
{
    /// <summary>Runs <paramref name="createTable"/> (idempotent DDL) in the file at <paramref name="databasePath"/>, creating it
    /// if needed; returns the connection string for the store's later calls.</summary>
    public static string Open(string databasePath, string createTable)
    {
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        using var c = new SqliteConnection(connectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode = WAL;\n" + createTable;
        cmd.ExecuteNonQuery();
        return connectionString;
    }
}
