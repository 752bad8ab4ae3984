using System.Text;
using Npgsql;

namespace Coffre.Postgres.Objects;

/// <summary>Object versions' ACLs (migration 0008).</summary>
public sealed partial class PostgresObjectCatalog
{
    public async Task<string?> GetObjectAclAsync(string bucket, string name, string versionId, CancellationToken ct = default) =>
        (await ReadAsync("SELECT acl FROM catalog.object_acls WHERE bucket = $1 AND name = $2 AND version_id = $3",
            r => r.GetString(0), ct, bucket, Encoding.UTF8.GetBytes(name), versionId).ConfigureAwait(false)).FirstOrDefault();

    public Task<bool> SetObjectAclAsync(string bucket, string name, string versionId, string? acl, CancellationToken ct = default) => TransactAsync(async (c, tx) =>
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        // The name's lock: a delete of the version (which takes it too) comes wholly before or after, never leaving an orphan row.
        await LockNameAsync(c, tx, bucket, nameBytes).ConfigureAwait(false);
        if (await ScalarAsync(c, tx, "SELECT 1 FROM catalog.objects WHERE bucket = $1 AND name = $2 AND version_id = $3 AND NOT delete_marker",
                bucket, nameBytes, versionId).ConfigureAwait(false) is null) return false;
        if (acl is null)
            await DeleteAclAsync(c, tx, bucket, nameBytes, versionId).ConfigureAwait(false);
        else
            await ExecuteAsync(c, tx, """
                INSERT INTO catalog.object_acls(bucket, name, version_id, acl) VALUES ($1, $2, $3, $4)
                ON CONFLICT (bucket, name, version_id) DO UPDATE SET acl = excluded.acl
                """, bucket, nameBytes, versionId, acl).ConfigureAwait(false);
        return true;
    }, ct);

    private static Task<int> DeleteAclAsync(NpgsqlConnection c, NpgsqlTransaction tx, string bucket, byte[] name, string versionId) =>
        ExecuteAsync(c, tx, "DELETE FROM catalog.object_acls WHERE bucket = $1 AND name = $2 AND version_id = $3", bucket, name, versionId);
}
