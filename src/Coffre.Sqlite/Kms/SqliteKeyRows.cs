using Coffre.Kms;
using Coffre.Kms.Audit;
using Coffre.Kms.Store;
using Microsoft.Data.Sqlite;

namespace Coffre.Sqlite.Kms;

/// <summary>Reads and writes of keys, versions and aliases, by the reader connections and inside write transactions.</summary>
internal static class SqliteKeyRows
{
    private const string KeyColumns = "id, name, description, created, state, state_before_destruction, primary_version, min_decryption_version, rotation_period_seconds, next_rotation, destruction_date, tags, key_spec, key_usage";

    public static object Db(DateTimeOffset? t) => t is { } v ? AuditChain.FormatTime(v) : DBNull.Value;
    private static DateTimeOffset? Time(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : AuditChain.ParseTime(r.GetString(i));

    public static KeyRecord? FindKey(SqliteConnection c, SqliteTransaction? tx, string column, string value)
    {
        using var cmd = SqliteSql.Command(c, tx, $"SELECT {KeyColumns} FROM keys WHERE {column} = $v");
        cmd.Parameters.AddWithValue("$v", value);
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadKey(r) : null;
    }

    public static IReadOnlyList<KeyRecord> ListKeys(SqliteConnection c, SqliteTransaction? tx)
    {
        using var cmd = SqliteSql.Command(c, tx, $"SELECT {KeyColumns} FROM keys ORDER BY name");
        using var r = cmd.ExecuteReader();
        var list = new List<KeyRecord>();
        while (r.Read()) list.Add(ReadKey(r));
        return list;
    }

    private static KeyRecord ReadKey(SqliteDataReader r) => new(
        r.GetString(0),
        r.GetString(1),
        r.IsDBNull(2) ? null : r.GetString(2),
        AuditChain.ParseTime(r.GetString(3)),
        StoredNames.KeyState(r.GetString(4)),
        r.IsDBNull(5) ? null : StoredNames.KeyState(r.GetString(5)),
        r.GetInt32(6),
        r.GetInt32(7),
        r.IsDBNull(8) ? null : TimeSpan.FromSeconds(r.GetInt64(8)),
        Time(r, 9),
        Time(r, 10),
        StoredNames.Tags(r.GetString(11)),
        StoredNames.Spec(r.GetString(12)),
        StoredNames.Usage(r.GetString(13)));

    public static void WriteKey(SqliteConnection c, SqliteTransaction tx, KeyRecord k, bool insert)
    {
        using var cmd = SqliteSql.Command(c, tx, insert
            ? $"INSERT INTO keys ({KeyColumns}) VALUES ($id, $name, $description, $created, $state, $before, $primary, $min, $period, $next, $destroy, $tags, $spec, $usage)"
            : "UPDATE keys SET name = $name, description = $description, created = $created, state = $state, state_before_destruction = $before, primary_version = $primary, min_decryption_version = $min, rotation_period_seconds = $period, next_rotation = $next, destruction_date = $destroy, tags = $tags WHERE id = $id");
        cmd.Parameters.AddWithValue("$id", k.Id);
        cmd.Parameters.AddWithValue("$name", k.Name);
        cmd.Parameters.AddWithValue("$description", (object?)k.Description ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$created", AuditChain.FormatTime(k.Created));
        cmd.Parameters.AddWithValue("$state", StoredNames.Text(k.State));
        cmd.Parameters.AddWithValue("$before", k.StateBeforeDestruction is { } b ? StoredNames.Text(b) : DBNull.Value);
        cmd.Parameters.AddWithValue("$primary", k.PrimaryVersion);
        cmd.Parameters.AddWithValue("$min", k.MinimumDecryptionVersion);
        cmd.Parameters.AddWithValue("$period", k.RotationPeriod is { } p ? (long)Math.Ceiling(p.TotalSeconds) : DBNull.Value);
        cmd.Parameters.AddWithValue("$next", Db(k.NextRotation));
        cmd.Parameters.AddWithValue("$destroy", Db(k.DestructionDate));
        cmd.Parameters.AddWithValue("$tags", StoredNames.TagsJson(k.Tags));
        // Key spec and usage never change: only the INSERT names them.
        if (insert)
        {
            cmd.Parameters.AddWithValue("$spec", StoredNames.Text(k.Spec));
            cmd.Parameters.AddWithValue("$usage", StoredNames.Text(k.Usage));
        }
        if (cmd.ExecuteNonQuery() != 1)
            throw new KmsException(KmsError.NotFound, $"Key {k.Id} disappeared from the key store during the change.");
    }

    public static IReadOnlyList<KeyVersionRecord> ListVersions(SqliteConnection c, SqliteTransaction? tx, string keyId)
    {
        using var cmd = SqliteSql.Command(c, tx, "SELECT key_id, version, state, created, destroyed, material FROM key_versions WHERE key_id = $k ORDER BY version");
        cmd.Parameters.AddWithValue("$k", keyId);
        using var r = cmd.ExecuteReader();
        var list = new List<KeyVersionRecord>();
        while (r.Read())
            list.Add(new KeyVersionRecord(r.GetString(0), r.GetInt32(1), StoredNames.VersionState(r.GetString(2)),
                AuditChain.ParseTime(r.GetString(3)), Time(r, 4), r.IsDBNull(5) ? null : (byte[])r.GetValue(5)));
        return list;
    }

    public static AliasRecord? FindAlias(SqliteConnection c, SqliteTransaction? tx, string alias)
    {
        using var cmd = SqliteSql.Command(c, tx, "SELECT alias, key_id, created FROM aliases WHERE alias = $a");
        cmd.Parameters.AddWithValue("$a", alias);
        using var r = cmd.ExecuteReader();
        return r.Read() ? new AliasRecord(r.GetString(0), r.GetString(1), AuditChain.ParseTime(r.GetString(2))) : null;
    }

    public static IReadOnlyList<AliasRecord> ListAliases(SqliteConnection c)
    {
        using var cmd = SqliteSql.Command(c, null, "SELECT alias, key_id, created FROM aliases ORDER BY alias");
        using var r = cmd.ExecuteReader();
        var list = new List<AliasRecord>();
        while (r.Read()) list.Add(new AliasRecord(r.GetString(0), r.GetString(1), AuditChain.ParseTime(r.GetString(2))));
        return list;
    }
}
