using System.Text;
using Coffre.Objects.Catalog;
using Coffre.Objects.Lock;
using Microsoft.Data.Sqlite;

namespace Coffre.Sqlite.Objects;

/// <summary>Bucket settings (Object Lock, lifecycle) and object versions' locks.</summary>
public sealed partial class SqliteObjectCatalog
{
    /// <summary>Tables added without a schema version of their own: created if missing, so no migration is needed.</summary>
    private static void CreateLockTables(SqliteConnection c) => Execute(c, null, """
        CREATE TABLE IF NOT EXISTS bucket_settings(
            bucket TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(bucket, name)) WITHOUT ROWID;
        -- One row per locked object version (a version without a row has no lock); deleted with its version.
        CREATE TABLE IF NOT EXISTS object_locks(
            bucket TEXT NOT NULL, name BLOB NOT NULL, version_id TEXT NOT NULL,
            mode TEXT, retain_until INTEGER, legal_hold INTEGER NOT NULL,
            PRIMARY KEY(bucket, name, version_id)) WITHOUT ROWID;
        """);

    public Task<string?> GetBucketSettingAsync(string bucket, string name, CancellationToken ct = default) => ReadAsync(c =>
        (string?)Scalar(c, null, "SELECT value FROM bucket_settings WHERE bucket = $b AND name = $n", ("$b", bucket), ("$n", name)));

    public Task<bool> SetBucketSettingAsync(string bucket, string name, string? value, CancellationToken ct = default) => WriteAsync((c, tx) =>
    {
        if (Scalar(c, tx, "SELECT 1 FROM buckets WHERE name = $b", ("$b", bucket)) is null) return false;
        if (value is null) Execute(c, tx, "DELETE FROM bucket_settings WHERE bucket = $b AND name = $n", ("$b", bucket), ("$n", name));
        else Execute(c, tx, "INSERT OR REPLACE INTO bucket_settings(bucket, name, value) VALUES ($b, $n, $v)", ("$b", bucket), ("$n", name), ("$v", value));
        return true;
    });

    public Task<IReadOnlyList<(string Bucket, string Value)>> ListBucketSettingsAsync(string name, CancellationToken ct = default) =>
        ReadAsync<IReadOnlyList<(string, string)>>(c => Query(c, null, "SELECT bucket, value FROM bucket_settings WHERE name = $n ORDER BY bucket",
            r => (r.GetString(0), r.GetString(1)), ("$n", name)));

    public Task<VersionLock?> GetVersionLockAsync(string bucket, string name, string versionId, CancellationToken ct = default) => ReadAsync(c =>
        ReadLock(c, null, bucket, Encoding.UTF8.GetBytes(name), versionId));

    public Task<VersionLock?> UpdateVersionLockAsync(string bucket, string name, string versionId, Func<VersionLock?, VersionLock> change, CancellationToken ct = default) =>
        WriteAsync<VersionLock?>((c, tx) =>
        {
            var nameBytes = Encoding.UTF8.GetBytes(name);
            if (Scalar(c, tx, "SELECT 1 FROM objects WHERE bucket = $b AND name = $n AND version_id = $v AND delete_marker = 0",
                    ("$b", bucket), ("$n", nameBytes), ("$v", versionId)) is null) return null;
            var next = change(ReadLock(c, tx, bucket, nameBytes, versionId));
            WriteLock(c, tx, bucket, nameBytes, versionId, next);
            return next;
        });

    public Task<IReadOnlyList<LockedVersion>> LockedVersionsUnderKeyAsync(string keyId, DateTimeOffset now, int limit, CancellationToken ct = default) =>
        ReadAsync<IReadOnlyList<LockedVersion>>(c => Query(c, null, """
            SELECT l.bucket, l.name, l.version_id, l.mode, l.retain_until, l.legal_hold FROM object_locks l
            JOIN objects o ON o.bucket = l.bucket AND o.name = l.name AND o.version_id = l.version_id
            WHERE o.key_id = $k AND (l.legal_hold = 1 OR l.retain_until > $t) ORDER BY l.bucket, l.name, l.version_id LIMIT $l
            """,
            r => new LockedVersion(r.GetString(0), Encoding.UTF8.GetString((byte[])r[1]), r.GetString(2), ReadLockColumns(r, 3)),
            ("$k", keyId), ("$t", now.ToUnixTimeMilliseconds()), ("$l", limit)));

    private static VersionLock? ReadLock(SqliteConnection c, SqliteTransaction? tx, string bucket, byte[] name, string versionId) =>
        Query(c, tx, "SELECT mode, retain_until, legal_hold FROM object_locks WHERE bucket = $b AND name = $n AND version_id = $v",
            r => ReadLockColumns(r, 0), ("$b", bucket), ("$n", name), ("$v", versionId)).FirstOrDefault();

    private static VersionLock ReadLockColumns(SqliteDataReader r, int first) => new(
        r.IsDBNull(first) ? null : VersionLocks.ParseMode(r.GetString(first)),
        r.IsDBNull(first + 1) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(first + 1)),
        r.GetInt64(first + 2) == 1);

    /// <summary>Writes a version's lock; a lock that holds nothing (no retention, no hold) is no row at all.</summary>
    private static void WriteLock(SqliteConnection c, SqliteTransaction tx, string bucket, byte[] name, string versionId, VersionLock versionLock)
    {
        (string, object?)[] key = [("$b", bucket), ("$n", name), ("$v", versionId)];
        if (versionLock.Mode is null && !versionLock.LegalHold)
            Execute(c, tx, "DELETE FROM object_locks WHERE bucket = $b AND name = $n AND version_id = $v", key);
        else
            Execute(c, tx, "INSERT OR REPLACE INTO object_locks(bucket, name, version_id, mode, retain_until, legal_hold) VALUES ($b, $n, $v, $m, $u, $h)",
                [.. key, ("$m", VersionLocks.ModeName(versionLock.Mode)), ("$u", versionLock.RetainUntil?.ToUnixTimeMilliseconds()), ("$h", versionLock.LegalHold ? 1 : 0)]);
    }
}
