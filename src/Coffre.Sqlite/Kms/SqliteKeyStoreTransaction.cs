using Coffre.Kms;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Kms.Store;
using Microsoft.Data.Sqlite;

namespace Coffre.Sqlite.Kms;

/// <summary>One IMMEDIATE transaction on keys.db: key changes, their audit record, the generation bump.</summary>
internal sealed class SqliteKeyStoreTransaction(SqliteConnections connections, SqliteConnection c, SqliteTransaction tx) : IKeyStoreTransaction
{
    private bool _checkpoint;
    private bool _done;

    public KeyRecord? FindKeyById(string id) => Run(() => SqliteKeyRows.FindKey(c, tx, "id", id));
    public KeyRecord? FindKeyByName(string name) => Run(() => SqliteKeyRows.FindKey(c, tx, "name", name));
    public AliasRecord? FindAlias(string alias) => Run(() => SqliteKeyRows.FindAlias(c, tx, alias));
    public IReadOnlyList<KeyRecord> ListKeys() => Run(() => SqliteKeyRows.ListKeys(c, tx));
    public IReadOnlyList<KeyVersionRecord> ListVersions(string keyId) => Run(() => SqliteKeyRows.ListVersions(c, tx, keyId));

    public void InsertKey(KeyRecord key) => Run(() => SqliteKeyRows.WriteKey(c, tx, key, insert: true));
    public void UpdateKey(KeyRecord key) => Run(() => SqliteKeyRows.WriteKey(c, tx, key, insert: false));

    public void InsertVersion(KeyVersionRecord v) => Run(() =>
    {
        using var cmd = SqliteSql.Command(c, tx, "INSERT INTO key_versions (key_id, version, state, created, destroyed, material) VALUES ($k, $v, $s, $c, $d, $m)");
        cmd.Parameters.AddWithValue("$k", v.KeyId);
        cmd.Parameters.AddWithValue("$v", v.Version);
        cmd.Parameters.AddWithValue("$s", StoredNames.Text(v.State));
        cmd.Parameters.AddWithValue("$c", AuditChain.FormatTime(v.Created));
        cmd.Parameters.AddWithValue("$d", SqliteKeyRows.Db(v.Destroyed));
        cmd.Parameters.AddWithValue("$m", (object?)v.WrappedMaterial ?? DBNull.Value);
        cmd.ExecuteNonQuery();
    });

    public void SetVersionState(string keyId, int version, KeyVersionState state)
    {
        if (state == KeyVersionState.Destroyed) throw new ArgumentException("Use DestroyVersions.", nameof(state));
        Run(() =>
        {
            using var cmd = SqliteSql.Command(c, tx, "UPDATE key_versions SET state = $s WHERE key_id = $k AND version = $v AND state <> 'destroyed'");
            cmd.Parameters.AddWithValue("$s", StoredNames.Text(state));
            cmd.Parameters.AddWithValue("$k", keyId);
            cmd.Parameters.AddWithValue("$v", version);
            cmd.ExecuteNonQuery();
        });
    }

    public void ReplaceVersionMaterial(string keyId, int version, byte[] wrappedMaterial) => Run(() =>
    {
        using var cmd = SqliteSql.Command(c, tx, "UPDATE key_versions SET material = $m WHERE key_id = $k AND version = $v AND material IS NOT NULL");
        cmd.Parameters.AddWithValue("$m", wrappedMaterial);
        cmd.Parameters.AddWithValue("$k", keyId);
        cmd.Parameters.AddWithValue("$v", version);
        cmd.ExecuteNonQuery();
    });

    public void DestroyVersions(string keyId, DateTimeOffset when) => Run(() =>
    {
        // Overwrite in place first, then erase; secure_delete zeroes freed pages.
        using (var cmd = SqliteSql.Command(c, tx, "UPDATE key_versions SET material = zeroblob(length(material)) WHERE key_id = $k AND material IS NOT NULL"))
        {
            cmd.Parameters.AddWithValue("$k", keyId);
            cmd.ExecuteNonQuery();
        }
        using (var cmd = SqliteSql.Command(c, tx, "UPDATE key_versions SET material = NULL, state = 'destroyed', destroyed = COALESCE(destroyed, $d) WHERE key_id = $k"))
        {
            cmd.Parameters.AddWithValue("$k", keyId);
            cmd.Parameters.AddWithValue("$d", AuditChain.FormatTime(when));
            cmd.ExecuteNonQuery();
        }
        _checkpoint = true;
    });

    public void UpsertAlias(AliasRecord a) => Run(() =>
    {
        using var cmd = SqliteSql.Command(c, tx, "INSERT INTO aliases (alias, key_id, created) VALUES ($a, $k, $c) ON CONFLICT (alias) DO UPDATE SET key_id = excluded.key_id");
        cmd.Parameters.AddWithValue("$a", a.Alias);
        cmd.Parameters.AddWithValue("$k", a.KeyId);
        cmd.Parameters.AddWithValue("$c", AuditChain.FormatTime(a.Created));
        cmd.ExecuteNonQuery();
    });

    public bool DeleteAlias(string alias) => Run(() =>
    {
        using var cmd = SqliteSql.Command(c, tx, "DELETE FROM aliases WHERE alias = $a");
        cmd.Parameters.AddWithValue("$a", alias);
        return cmd.ExecuteNonQuery() > 0;
    });

    public void AppendAudit(AuditEntry entry)
    {
        try
        {
            using var appender = new SqliteAuditAppender(c);
            appender.Append(tx, [entry]);
        }
        catch (SqliteException e)
        {
            throw new KmsException(KmsError.AuditUnavailable,
                "The audit trail could not be written, so the change was not made (no audit, no answer). Check the key store's disk and permissions.", e);
        }
    }

    public void Commit()
    {
        try
        {
            SqliteSql.Exec(c, "UPDATE generation SET value = value + 1 WHERE id = 1", tx);
            tx.Commit();
        }
        catch (SqliteException e)
        {
            throw new KmsException(KmsError.AuditUnavailable,
                $"The change and its audit record could not be committed to {connections.Path}, so the change was not made: {e.Message}", e);
        }
        _done = true;
        if (_checkpoint) connections.CheckpointWal();
    }

    public void Dispose()
    {
        if (!_done)
        {
            try { tx.Rollback(); } catch (SqliteException) { } catch (InvalidOperationException) { }
        }
        tx.Dispose();
        c.Dispose();
    }

    private T Run<T>(Func<T> work)
    {
        try
        {
            return work();
        }
        catch (SqliteException e)
        {
            throw connections.Unavailable("could not be changed", e);
        }
    }

    private void Run(Action work) => Run(() =>
    {
        work();
        return 0;
    });
}
