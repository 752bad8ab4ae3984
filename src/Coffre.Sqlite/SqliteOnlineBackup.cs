using Microsoft.Data.Sqlite;

namespace Coffre.Sqlite;

/// <summary>
/// A consistent copy of a live SQLite database through SQLite's online backup API (sqlite3_backup_*, exposed as
/// <see cref="SqliteConnection.BackupDatabase(SqliteConnection)"/>): it reads a snapshot while other processes keep
/// writing (WAL mode), so `coffre backup` runs beside `coffre serve`.
/// </summary>
public static class SqliteOnlineBackup
{
    /// <summary>Copies <paramref name="source"/> into a new database file <paramref name="destination"/>.</summary>
    public static void Copy(string source, string destination)
    {
        using var from = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = source, Mode = SqliteOpenMode.ReadOnly, Pooling = false, DefaultTimeout = 30,
        }.ToString());
        using var to = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = destination, Pooling = false }.ToString());
        from.Open();
        to.Open();
        from.BackupDatabase(to);
        // One file, no -wal beside it: what a restore copies back is complete on its own.
        using var cmd = to.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode = DELETE";
        cmd.ExecuteNonQuery();
    }
}
