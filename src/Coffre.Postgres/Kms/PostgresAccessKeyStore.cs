using Coffre.Kms;
using Coffre.Kms.Access;
using Coffre.Kms.Audit;
using Npgsql;

namespace Coffre.Postgres.Kms;

/// <summary>
/// <see cref="IAccessKeyStore"/> in <c>kms_access_keys</c>, so that an access-key change and its audit record commit in
/// one transaction of the database that holds the audit chain. The generation is read from the database: only the
/// access-key refresher asks it, once per refresh interval, not every request.
/// </summary>
internal sealed class PostgresAccessKeyStore(PostgresConnections connections) : IAccessKeyStore
{
    public long ReadGeneration() => connections.Run(c =>
    {
        using var cmd = new NpgsqlCommand("SELECT value FROM kms_access_key_generation WHERE id = 1", c);
        return (long)cmd.ExecuteScalar()!;
    });

    public AccessKeyRecord? Find(string accessKeyId) => connections.Run(c => Find(c, null, accessKeyId));

    public IReadOnlyList<AccessKeyRecord> List() => connections.Run(c =>
    {
        using var cmd = new NpgsqlCommand($"SELECT {Columns} FROM kms_access_keys ORDER BY created, id", c);
        using var r = cmd.ExecuteReader();
        var list = new List<AccessKeyRecord>();
        while (r.Read()) list.Add(Read(r));
        return list;
    });

    public void Insert(AccessKeyRecord record, AuditEntry audit) => Write(audit, (c, tx) =>
    {
        if (Find(c, tx, record.AccessKeyId) is not null)
            throw new KmsException(KmsError.AlreadyExists, $"An access key '{record.AccessKeyId}' already exists.");
        using var cmd = new NpgsqlCommand($"INSERT INTO kms_access_keys ({Columns}) VALUES (@id, @d, @g, @w, @c, @cb, @u, @r, @rev)", c, tx);
        Bind(cmd, record);
        cmd.ExecuteNonQuery();
    });

    public void Update(AccessKeyRecord record, AuditEntry audit) => Write(audit, (c, tx) =>
    {
        var stored = Find(c, tx, record.AccessKeyId, forUpdate: true)
            ?? throw new KmsException(KmsError.NotFound, $"There is no access key '{record.AccessKeyId}'.");
        if (stored.Revision != record.Revision - 1)
            throw new KmsException(KmsError.Conflict,
                $"Access key '{record.AccessKeyId}' was changed by someone else meanwhile (revision {stored.Revision}); run the command again.");
        using var cmd = new NpgsqlCommand(
            "UPDATE kms_access_keys SET description = @d, grants = @g, wrapped_secret = @w, created = @c, created_by = @cb, updated = @u, revoked = @r, revision = @rev WHERE id = @id", c, tx);
        Bind(cmd, record);
        cmd.ExecuteNonQuery();
    });

    private const string Columns = "id, description, grants, wrapped_secret, created, created_by, updated, revoked, revision";

    private static AccessKeyRecord? Find(NpgsqlConnection c, NpgsqlTransaction? tx, string id, bool forUpdate = false)
    {
        using var cmd = new NpgsqlCommand($"SELECT {Columns} FROM kms_access_keys WHERE id = @id" + (forUpdate ? " FOR UPDATE" : ""), c, tx);
        cmd.Parameters.AddWithValue("id", id);
        using var r = cmd.ExecuteReader();
        return r.Read() ? Read(r) : null;
    }

    private static AccessKeyRecord Read(NpgsqlDataReader r) => new(
        r.GetString(0),
        r.IsDBNull(1) ? null : r.GetString(1),
        AccessGrantsJson.Deserialize(r.GetString(2)),
        r.IsDBNull(3) ? null : r.GetFieldValue<byte[]>(3),
        AuditChain.ParseTime(r.GetString(4)),
        r.GetString(5),
        AuditChain.ParseTime(r.GetString(6)),
        r.IsDBNull(7) ? null : AuditChain.ParseTime(r.GetString(7)),
        r.GetInt64(8));

    private static void Bind(NpgsqlCommand cmd, AccessKeyRecord k)
    {
        cmd.Parameters.AddWithValue("id", k.AccessKeyId);
        cmd.Parameters.AddWithValue("d", (object?)k.Description ?? DBNull.Value);
        cmd.Parameters.AddWithValue("g", AccessGrantsJson.Serialize(k.Grants));
        cmd.Parameters.Add(new NpgsqlParameter("w", NpgsqlTypes.NpgsqlDbType.Bytea) { Value = (object?)k.WrappedSecret ?? DBNull.Value });
        cmd.Parameters.AddWithValue("c", AuditChain.FormatTime(k.Created));
        cmd.Parameters.AddWithValue("cb", k.CreatedBy);
        cmd.Parameters.AddWithValue("u", AuditChain.FormatTime(k.Updated));
        cmd.Parameters.Add(new NpgsqlParameter("r", NpgsqlTypes.NpgsqlDbType.Text) { Value = k.Revoked is { } t ? AuditChain.FormatTime(t) : DBNull.Value });
        cmd.Parameters.AddWithValue("rev", k.Revision);
    }

    /// <summary>One transaction: the change, its audit record, the generation bump; all or nothing.</summary>
    private void Write(AuditEntry audit, Action<NpgsqlConnection, NpgsqlTransaction> change) => connections.Run(c =>
    {
        using var tx = c.BeginTransaction();
        change(c, tx);
        try
        {
            PostgresAuditAppender.Append(c, tx, [audit]);
            PostgresConnections.Exec(c, tx, "UPDATE kms_access_key_generation SET value = value + 1 WHERE id = 1");
            tx.Commit();
        }
        catch (NpgsqlException e)
        {
            throw connections.AuditUnavailable(e);
        }
        return 0;
    });
}
