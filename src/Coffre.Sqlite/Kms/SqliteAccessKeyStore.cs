using Coffre.Kms;
using Coffre.Kms.Access;
using Coffre.Kms.Audit;
using Microsoft.Data.Sqlite;

namespace Coffre.Sqlite.Kms;

/// <summary>
/// <see cref="IAccessKeyStore"/> in tables of keys.db (docs/format.md §6.4), so that an access-key change and its
/// audit record commit in one transaction of the file that holds the audit chain.
/// </summary>
internal sealed class SqliteAccessKeyStore(SqliteConnections connections) : IAccessKeyStore
{
    public long ReadGeneration() => connections.Read(r =>
    {
        using var cmd = SqliteSql.Command(r.Connection, null, "SELECT value FROM access_key_generation WHERE id = 1");
        return (long)cmd.ExecuteScalar()!;
    });

    public AccessKeyRecord? Find(string accessKeyId) => connections.Read(r => Find(r.Connection, null, accessKeyId));

    public IReadOnlyList<AccessKeyRecord> List() => connections.Read(rd =>
    {
        using var cmd = SqliteSql.Command(rd.Connection, null, $"SELECT {Columns} FROM access_keys ORDER BY created, id");
        using var r = cmd.ExecuteReader();
        var list = new List<AccessKeyRecord>();
        while (r.Read()) list.Add(Read(r));
        return list;
    });

    public void Insert(AccessKeyRecord record, AuditEntry audit) => Write(audit, (c, tx) =>
    {
        if (Find(c, tx, record.AccessKeyId) is not null)
            throw new KmsException(KmsError.AlreadyExists, $"An access key '{record.AccessKeyId}' already exists.");
        using var cmd = SqliteSql.Command(c, tx, $"INSERT INTO access_keys ({Columns}) VALUES ($id, $d, $g, $w, $c, $cb, $u, $r, $rev)");
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
        using var cmd = SqliteSql.Command(c, tx,
            "UPDATE access_keys SET description = $d, grants = $g, wrapped_secret = $w, created = $c, created_by = $cb, updated = $u, revoked = $r, revision = $rev WHERE id = $id");
        Bind(cmd, record);
        cmd.ExecuteNonQuery();
    });

    private const string Columns = "id, description, grants, wrapped_secret, created, created_by, updated, revoked, revision";

    private static AccessKeyRecord? Find(SqliteConnection c, SqliteTransaction? tx, string id)
    {
        using var cmd = SqliteSql.Command(c, tx, $"SELECT {Columns} FROM access_keys WHERE id = $id");
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
    private void Write(AuditEntry audit, Action<SqliteConnection, SqliteTransaction> change) => connections.Run(c =>
    {
        using var tx = c.BeginTransaction(deferred: false);
        change(c, tx);
        try
        {
            using (var appender = new SqliteAuditAppender(c))
                appender.Append(tx, [audit]);
            SqliteSql.Exec(c, "UPDATE access_key_generation SET value = value + 1 WHERE id = 1", tx);
            tx.Commit();
        }
        catch (SqliteException e)
        {
            throw new KmsException(KmsError.AuditUnavailable,
                $"The access-key change and its audit record could not be committed to {connections.Path}, so the change was not made: {e.Message}", e);
        }
        return 0;
    });
}
