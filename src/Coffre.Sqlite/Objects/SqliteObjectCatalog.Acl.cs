using System.Text;
using Microsoft.Data.Sqlite;

namespace Coffre.Sqlite.Objects;

/// <summary>Object versions' ACLs (as PostgreSQL migration 0008).</summary>
public sealed partial class SqliteObjectCatalog
{
    /// <summary>Created if missing: no schema version of its own (several tables land independently).</summary>
    private static void CreateAclTable(SqliteConnection c) => Execute(c, null, """
        -- One row per object version whose ACL was set; deleted with its version.
        CREATE TABLE IF NOT EXISTS object_acls(
            bucket TEXT NOT NULL, name BLOB NOT NULL, version_id TEXT NOT NULL, acl TEXT NOT NULL,
            PRIMARY KEY(bucket, name, version_id)) WITHOUT ROWID;
        """);

    public Task<string?> GetObjectAclAsync(string bucket, string name, string versionId, CancellationToken ct = default) => ReadAsync(c =>
        (string?)Scalar(c, null, "SELECT acl FROM object_acls WHERE bucket = $b AND name = $n AND version_id = $v",
            ("$b", bucket), ("$n", Encoding.UTF8.GetBytes(name)), ("$v", versionId)));

    public Task<bool> SetObjectAclAsync(string bucket, string name, string versionId, string? acl, CancellationToken ct = default) => WriteAsync((c, tx) =>
    {
        (string, object?)[] key = [("$b", bucket), ("$n", Encoding.UTF8.GetBytes(name)), ("$v", versionId)];
        if (Scalar(c, tx, "SELECT 1 FROM objects WHERE bucket = $b AND name = $n AND version_id = $v AND delete_marker = 0", key) is null) return false;
        if (acl is null) DeleteAcl(c, tx, bucket, (byte[])key[1].Item2!, versionId);
        else Execute(c, tx, "INSERT OR REPLACE INTO object_acls(bucket, name, version_id, acl) VALUES ($b, $n, $v, $a)", [.. key, ("$a", acl)]);
        return true;
    });

    private static void DeleteAcl(SqliteConnection c, SqliteTransaction tx, string bucket, byte[] name, string versionId) =>
        Execute(c, tx, "DELETE FROM object_acls WHERE bucket = $b AND name = $n AND version_id = $v", ("$b", bucket), ("$n", name), ("$v", versionId));
}
