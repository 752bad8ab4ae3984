using Microsoft.Data.Sqlite;

namespace Coffre.Sqlite.Kms;

/// <summary>Small command helpers shared by the SQLite stores of the key manager.</summary>
internal static class SqliteSql
{
    public static SqliteCommand Command(SqliteConnection c, SqliteTransaction? tx, string sql)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        return cmd;
    }

    public static SqliteCommand Prepare(SqliteConnection c, string sql)
    {
        var cmd = Command(c, null, sql);
        cmd.Prepare();
        return cmd;
    }

    public static void Exec(SqliteConnection c, string sql, SqliteTransaction? tx = null)
    {
        using var cmd = Command(c, tx, sql);
        cmd.ExecuteNonQuery();
    }

    public static object? Scalar(SqliteConnection c, string sql, SqliteTransaction? tx = null)
    {
        using var cmd = Command(c, tx, sql);
        return cmd.ExecuteScalar();
    }
}
