using Coffre.Kms;
using Coffre.Kms.Audit;
using Coffre.Kms.Store;
using Npgsql;

namespace Coffre.Postgres.Kms;

/// <summary>Reads and writes of keys, versions and aliases; the same stored texts as SQLite (<see cref="StoredNames"/>).</summary>
internal static class PostgresKeyRows
{
    private const string KeyColumns = "id, name, description, created, state, state_before_destruction, primary_version, min_decryption_version, rotation_period_seconds, next_rotation, destruction_date, tags, key_spec, key_usage";

    private static object Db(DateTimeOffset? t) => t is { } v ? AuditChain.FormatTime(v) : DBNull.Value;
    private static DateTimeOffset? Time(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : AuditChain.ParseTime(r.GetString(i));

    public static KeyRecord? FindKey(NpgsqlConnection c, NpgsqlTransaction? tx, string column, string value)
    {
        using var cmd = new NpgsqlCommand($"SELECT {KeyColumns} FROM kms_keys WHERE {column} = @v", c, tx);
        cmd.Parameters.AddWithValue("v", value);
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadKey(r) : null;
    }

    public static IReadOnlyList<KeyRecord> ListKeys(NpgsqlConnection c, NpgsqlTransaction? tx)
    {
        using var cmd = new NpgsqlCommand($"SELECT {KeyColumns} FROM kms_keys ORDER BY name COLLATE \"C\"", c, tx);
        using var r = cmd.ExecuteReader();
        var list = new List<KeyRecord>();
        while (r.Read()) list.Add(ReadKey(r));
        return list;
    }

    private static KeyRecord ReadKey(NpgsqlDataReader r) => new(
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

    public static void WriteKey(NpgsqlConnection c, NpgsqlTransaction tx, KeyRecord k, bool insert)
    {
        using var cmd = new NpgsqlCommand(insert
            ? $"INSERT INTO kms_keys ({KeyColumns}) VALUES (@id, @name, @description, @created, @state, @before, @primary, @min, @period, @next, @destroy, @tags, @spec, @usage)"
            : "UPDATE kms_keys SET name = @name, description = @description, created = @created, state = @state, state_before_destruction = @before, primary_version = @primary, min_decryption_version = @min, rotation_period_seconds = @period, next_rotation = @next, destruction_date = @destroy, tags = @tags WHERE id = @id",
            c, tx);
        cmd.Parameters.AddWithValue("id", k.Id);
        cmd.Parameters.AddWithValue("name", k.Name);
        cmd.Parameters.AddWithValue("description", (object?)k.Description ?? DBNull.Value);
        cmd.Parameters.AddWithValue("created", AuditChain.FormatTime(k.Created));
        cmd.Parameters.AddWithValue("state", StoredNames.Text(k.State));
        cmd.Parameters.AddWithValue("before", k.StateBeforeDestruction is { } b ? StoredNames.Text(b) : DBNull.Value);
        cmd.Parameters.AddWithValue("primary", k.PrimaryVersion);
        cmd.Parameters.AddWithValue("min", k.MinimumDecryptionVersion);
        cmd.Parameters.AddWithValue("period", k.RotationPeriod is { } p ? (long)Math.Ceiling(p.TotalSeconds) : DBNull.Value);
        cmd.Parameters.AddWithValue("next", Db(k.NextRotation));
        cmd.Parameters.AddWithValue("destroy", Db(k.DestructionDate));
        cmd.Parameters.AddWithValue("tags", StoredNames.TagsJson(k.Tags));
        // Key spec and usage never change: only the INSERT names them.
        if (insert)
        {
            cmd.Parameters.AddWithValue("spec", StoredNames.Text(k.Spec));
            cmd.Parameters.AddWithValue("usage", StoredNames.Text(k.Usage));
        }
        if (cmd.ExecuteNonQuery() != 1)
            throw new KmsException(KmsError.NotFound, $"Key {k.Id} disappeared from the key store during the change.");
    }

    public static void InsertVersion(NpgsqlConnection c, NpgsqlTransaction tx, KeyVersionRecord v)
    {
        using var cmd = new NpgsqlCommand("INSERT INTO kms_key_versions (key_id, version, state, created, destroyed, material) VALUES (@k, @v, @s, @c, @d, @m)", c, tx);
        cmd.Parameters.AddWithValue("k", v.KeyId);
        cmd.Parameters.AddWithValue("v", v.Version);
        cmd.Parameters.AddWithValue("s", StoredNames.Text(v.State));
        cmd.Parameters.AddWithValue("c", AuditChain.FormatTime(v.Created));
        cmd.Parameters.AddWithValue("d", Db(v.Destroyed));
        cmd.Parameters.AddWithValue("m", (object?)v.WrappedMaterial ?? DBNull.Value);
        cmd.ExecuteNonQuery();
    }

    public static IReadOnlyList<KeyVersionRecord> ListVersions(NpgsqlConnection c, NpgsqlTransaction? tx, string keyId)
    {
        using var cmd = new NpgsqlCommand("SELECT key_id, version, state, created, destroyed, material FROM kms_key_versions WHERE key_id = @k ORDER BY version", c, tx);
        cmd.Parameters.AddWithValue("k", keyId);
        using var r = cmd.ExecuteReader();
        var list = new List<KeyVersionRecord>();
        while (r.Read())
            list.Add(new KeyVersionRecord(r.GetString(0), r.GetInt32(1), StoredNames.VersionState(r.GetString(2)),
                AuditChain.ParseTime(r.GetString(3)), Time(r, 4), r.IsDBNull(5) ? null : r.GetFieldValue<byte[]>(5)));
        return list;
    }

    public static AliasRecord? FindAlias(NpgsqlConnection c, NpgsqlTransaction? tx, string alias)
    {
        using var cmd = new NpgsqlCommand("SELECT alias, key_id, created FROM kms_aliases WHERE alias = @a", c, tx);
        cmd.Parameters.AddWithValue("a", alias);
        using var r = cmd.ExecuteReader();
        return r.Read() ? new AliasRecord(r.GetString(0), r.GetString(1), AuditChain.ParseTime(r.GetString(2))) : null;
    }

    public static IReadOnlyList<AliasRecord> ListAliases(NpgsqlConnection c)
    {
        using var cmd = new NpgsqlCommand("SELECT alias, key_id, created FROM kms_aliases ORDER BY alias COLLATE \"C\"", c);
        using var r = cmd.ExecuteReader();
        var list = new List<AliasRecord>();
        while (r.Read()) list.Add(new AliasRecord(r.GetString(0), r.GetString(1), AuditChain.ParseTime(r.GetString(2))));
        return list;
    }
}
