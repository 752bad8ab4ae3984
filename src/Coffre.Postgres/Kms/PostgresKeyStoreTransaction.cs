using Coffre.Kms;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Kms.Store;
using Npgsql;

namespace Coffre.Postgres.Kms;

/// <summary>One write transaction (under the writers' advisory lock): key changes, their audit record, the generation
/// bump and its notification to the other instances, committed together.</summary>
internal sealed class PostgresKeyStoreTransaction(PostgresConnections connections, PostgresGenerationWatcher watcher, NpgsqlConnection c, NpgsqlTransaction tx)
    : IKeyStoreTransaction
{
    private bool _done;

    public KeyRecord? FindKeyById(string id) => Run(() => PostgresKeyRows.FindKey(c, tx, "id", id));
    public KeyRecord? FindKeyByName(string name) => Run(() => PostgresKeyRows.FindKey(c, tx, "name", name));
    public AliasRecord? FindAlias(string alias) => Run(() => PostgresKeyRows.FindAlias(c, tx, alias));
    public IReadOnlyList<KeyRecord> ListKeys() => Run(() => PostgresKeyRows.ListKeys(c, tx));
    public IReadOnlyList<KeyVersionRecord> ListVersions(string keyId) => Run(() => PostgresKeyRows.ListVersions(c, tx, keyId));

    public void InsertKey(KeyRecord key) => Run(() => PostgresKeyRows.WriteKey(c, tx, key, insert: true));
    public void UpdateKey(KeyRecord key) => Run(() => PostgresKeyRows.WriteKey(c, tx, key, insert: false));
    public void InsertVersion(KeyVersionRecord version) => Run(() => PostgresKeyRows.InsertVersion(c, tx, version));

    public void SetVersionState(string keyId, int version, KeyVersionState state)
    {
        if (state == KeyVersionState.Destroyed) throw new ArgumentException("Use DestroyVersions.", nameof(state));
        Run(() =>
        {
            using var cmd = new NpgsqlCommand("UPDATE kms_key_versions SET state = @s WHERE key_id = @k AND version = @v AND state <> 'destroyed'", c, tx);
            cmd.Parameters.AddWithValue("s", StoredNames.Text(state));
            cmd.Parameters.AddWithValue("k", keyId);
            cmd.Parameters.AddWithValue("v", version);
            cmd.ExecuteNonQuery();
        });
    }

    public void ReplaceVersionMaterial(string keyId, int version, byte[] wrappedMaterial) => Run(() =>
    {
        using var cmd = new NpgsqlCommand("UPDATE kms_key_versions SET material = @m WHERE key_id = @k AND version = @v AND material IS NOT NULL", c, tx);
        cmd.Parameters.AddWithValue("m", wrappedMaterial);
        cmd.Parameters.AddWithValue("k", keyId);
        cmd.Parameters.AddWithValue("v", version);
        cmd.ExecuteNonQuery();
    });

    public void DestroyVersions(string keyId, DateTimeOffset when) => Run(() =>
    {
        // PostgreSQL keeps old row versions until VACUUM reclaims them: overwrite first (zeros of the same length), so
        // the version that VACUUM leaves behind last holds no material; docs/operations.md says to VACUUM after a destruction.
        using (var cmd = new NpgsqlCommand("UPDATE kms_key_versions SET material = decode(repeat('00', length(material)), 'hex') WHERE key_id = @k AND material IS NOT NULL", c, tx))
        {
            cmd.Parameters.AddWithValue("k", keyId);
            cmd.ExecuteNonQuery();
        }
        using (var cmd = new NpgsqlCommand("UPDATE kms_key_versions SET material = NULL, state = 'destroyed', destroyed = COALESCE(destroyed, @d) WHERE key_id = @k", c, tx))
        {
            cmd.Parameters.AddWithValue("k", keyId);
            cmd.Parameters.AddWithValue("d", AuditChain.FormatTime(when));
            cmd.ExecuteNonQuery();
        }
    });

    public void UpsertAlias(AliasRecord a) => Run(() =>
    {
        using var cmd = new NpgsqlCommand("INSERT INTO kms_aliases (alias, key_id, created) VALUES (@a, @k, @c) ON CONFLICT (alias) DO UPDATE SET key_id = excluded.key_id", c, tx);
        cmd.Parameters.AddWithValue("a", a.Alias);
        cmd.Parameters.AddWithValue("k", a.KeyId);
        cmd.Parameters.AddWithValue("c", AuditChain.FormatTime(a.Created));
        cmd.ExecuteNonQuery();
    });

    public bool DeleteAlias(string alias) => Run(() =>
    {
        using var cmd = new NpgsqlCommand("DELETE FROM kms_aliases WHERE alias = @a", c, tx);
        cmd.Parameters.AddWithValue("a", alias);
        return cmd.ExecuteNonQuery() > 0;
    });

    public void AppendAudit(AuditEntry entry)
    {
        try
        {
            PostgresAuditAppender.Append(c, tx, [entry]);
        }
        catch (NpgsqlException e)
        {
            throw connections.AuditUnavailable(e);
        }
    }

    public void Commit()
    {
        long generation;
        try
        {
            using (var cmd = new NpgsqlCommand("UPDATE kms_generation SET value = value + 1 WHERE id = 1 RETURNING value", c, tx))
                generation = (long)cmd.ExecuteScalar()!;
            PostgresConnections.Exec(c, tx, $"NOTIFY {PostgresGenerationWatcher.Channel}");
            tx.Commit();
        }
        catch (NpgsqlException e)
        {
            throw new KmsException(KmsError.AuditUnavailable,
                $"The change and its audit record could not be committed to the key store ({connections.Description}), so the change was not made: {e.Message}", e);
        }
        _done = true;
        watcher.Observe(generation);
    }

    public void Dispose()
    {
        if (!_done)
        {
            try { tx.Rollback(); } catch (NpgsqlException) { } catch (InvalidOperationException) { }
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
        catch (NpgsqlException e)
        {
            throw connections.Unavailable(e);
        }
    }

    private void Run(Action work) => Run(() =>
    {
        work();
        return 0;
    });
}
