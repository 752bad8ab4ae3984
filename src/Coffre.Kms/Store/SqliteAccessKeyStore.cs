using Coffre.Kms.Access;
using Coffre.Kms.Audit;
using Microsoft.Data.Sqlite;

namespace Coffre.Kms.Store;

/// <summary>
/// <see cref="IAccessKeyStore"/> in tables of keys.db (docs/format.md §6.4), so that an access-key change and its
/// audit record commit in one transaction of the file that holds the audit chain.
/// </summary>
public sealed class SqliteAccessKeyStore : IAccessKeyStore
{
    private readonly string _connectionString;
    private readonly string _path;

    public SqliteAccessKeyStore(string keysDbPath)
    {
        _path = keysDbPath;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = keysDbPath, Mode = SqliteOpenMode.ReadWrite, Pooling = false, DefaultTimeout = 10,
        }.ToString();
        Run(c =>
        {
            Exec(c, null, """
                CREATE TABLE IF NOT EXISTS access_keys (
                    id TEXT PRIMARY KEY,
                    description TEXT,
                    grants TEXT NOT NULL,
                    wrapped_secret BLOB,
                    created TEXT NOT NULL,
                    created_by TEXT NOT NULL,
                    updated TEXT NOT NULL,
                    revoked TEXT,
                    revision INTEGER NOT NULL CHECK (revision >= 1),
                    CHECK ((revoked IS NULL) = (wrapped_secret IS NOT NULL))
                ) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS access_key_generation (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
                INSERT OR IGNORE INTO access_key_generation (id, value) VALUES (1, 0);
                """);
            return 0;
        });
    }

    public long ReadGeneration() => Run(c =>
    {
        using var cmd = Command(c, null, "SELECT value FROM access_key_generation WHERE id = 1");
        return (long)cmd.ExecuteScalar()!;
    });

    public AccessKeyRecord? Find(string accessKeyId) => Run(c => Find(c, null, accessKeyId));

    public IReadOnlyList<AccessKeyRecord> List() => Run(c =>
    {
        using var cmd = Command(c, null, $"SELECT {Columns} FROM access_keys ORDER BY created, id");
        using var r = cmd.ExecuteReader();
        var list = new List<AccessKeyRecord>();
        while (r.Read()) list.Add(Read(r));
        return list;
    });

    public void Insert(AccessKeyRecord record, AuditEntry audit) => Write(audit, (c, tx) =>
    {
        if (Find(c, tx, record.AccessKeyId) is not null)
            throw new KmsException(KmsError.AlreadyExists, $"An access key '{record.AccessKeyId}' already exists.");
        using var cmd = Command(c, tx, $"INSERT INTO access_keys ({Columns}) VALUES ($id, $d, $g, $w, $c, $cb, $u, $r, $rev)");
        Bind(cmd, record);
        cmd.ExecuteNonQuery();
    });

    public void Update(AccessKeyRecord record, AuditEntry audit) => Write(audit, (c, tx) =>
    {
        var stored = Find(c, tx, record.AccessKeyId)
            ?? throw new KmsException(KmsError.NotFound, $"There is no access key '{record.AccessKeyId}'.");
        if (stored.Revision != record.Revision - 1)
            throw new KmsException(KmsError.Conflict,
                $"Access key '{record.AccessKeyId}' was changed by someone else meanwhile (revision {stored.Revision}); run the command again.");
        // secure_delete (set on keys.db) zeroes the pages that held the replaced wrapped secret.
        using var cmd = Command(c, tx,
            "UPDATE access_keys SET description = $d, grants = $g, wrapped_secret = $w, created = $c, created_by = $cb, updated = $u, revoked = $r, revision = $rev WHERE id = $id");
        Bind(cmd, record);
        cmd.ExecuteNonQuery();
    });

    private const string Columns = "id, description, grants, wrapped_secret, created, created_by, updated, revoked, revision";

    private static AccessKeyRecord? Find(SqliteConnection c, SqliteTransaction? tx, string id)
    {
        using var cmd = Command(c, tx, $"SELECT {Columns} FROM access_keys WHERE id = $id");
        cmd.Parameters.AddWithValue("$id", id);
        using var r = cmd.ExecuteReader();
        return r.Read() ? Read(r) : null;
    }

    private static AccessKeyRecord Read(SqliteDataReader r) => new(
        r.GetString(0),
        r.IsDBNull(1) ? null : r.GetString(1),
        AccessGrantsJson.Deserialize(r.GetString(2)),
        r.IsDBNull(3) ? null : (byte[])r[3],
        AuditChain.ParseTime(r.GetString(4)),
        r.GetString(5),
        AuditChain.ParseTime(r.GetString(6)),
        r.IsDBNull(7) ? null : AuditChain.ParseTime(r.GetString(7)),
        r.GetInt64(8));

    private static void Bind(SqliteCommand cmd, AccessKeyRecord k)
    {
        cmd.Parameters.AddWithValue("$id", k.AccessKeyId);
        cmd.Parameters.AddWithValue("$d", (object?)k.Description ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$g", AccessGrantsJson.Serialize(k.Grants));
        cmd.Parameters.AddWithValue("$w", (object?)k.WrappedSecret ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$c", AuditChain.FormatTime(k.Created));
        cmd.Parameters.AddWithValue("$cb", k.CreatedBy);
        cmd.Parameters.AddWithValue("$u", AuditChain.FormatTime(k.Updated));
        cmd.Parameters.AddWithValue("$r", k.Revoked is { } t ? AuditChain.FormatTime(t) : DBNull.Value);
        cmd.Parameters.AddWithValue("$rev", k.Revision);
    }

    /// <summary>One IMMEDIATE transaction: the change, its audit record, the generation bump; all or nothing.</summary>
    private void Write(AuditEntry audit, Action<SqliteConnection, SqliteTransaction> change) => Run(c =>
    {
        using var tx = c.BeginTransaction(deferred: false);
        change(c, tx);
        try
        {
            SqliteKeyStore.AppendAuditInTransaction(c, tx, audit);
            Exec(c, tx, "UPDATE access_key_generation SET value = value + 1 WHERE id = 1");
            tx.Commit();
        }
        catch (SqliteException e)
        {
            throw new KmsException(KmsError.AuditUnavailable,
                $"The access-key change and its audit record could not be committed to {_path}, so the change was not made: {e.Message}", e);
        }
        return 0;
    });

    private T Run<T>(Func<SqliteConnection, T> work)
    {
        try
        {
            using var c = new SqliteConnection(_connectionString);
            c.Open();
            Exec(c, null, "PRAGMA busy_timeout = 10000; PRAGMA synchronous = FULL; PRAGMA secure_delete = ON;");
            return work(c);
        }
        catch (SqliteException e)
        {
            throw new KmsException(KmsError.StoreUnavailable, $"The access keys in {_path} cannot be read or written: {e.Message}", e);
        }
    }

    private static SqliteCommand Command(SqliteConnection c, SqliteTransaction? tx, string sql)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        return cmd;
    }

    private static void Exec(SqliteConnection c, SqliteTransaction? tx, string sql)
    {
        using var cmd = Command(c, tx, sql);
        cmd.ExecuteNonQuery();
    }
}
