using System.Text;
using Coffre.Objects.Catalog;
using Coffre.Objects.Lock;
using Npgsql;

namespace Coffre.Postgres.Objects;

/// <summary>Bucket settings (Object Lock, lifecycle) and object versions' locks (migration 0006).</summary>
public sealed partial class PostgresObjectCatalog
{
    public async Task<string?> GetBucketSettingAsync(string bucket, string name, CancellationToken ct = default) =>
        (await ReadAsync("SELECT value FROM catalog.bucket_settings WHERE bucket = $1 AND name = $2", r => r.GetString(0), ct, bucket, name).ConfigureAwait(false))
            .FirstOrDefault();

    public Task<bool> SetBucketSettingAsync(string bucket, string name, string? value, CancellationToken ct = default) => TransactAsync(async (c, tx) =>
    {
        if (await ScalarAsync(c, tx, "SELECT 1 FROM catalog.buckets WHERE name = $1 FOR SHARE", bucket).ConfigureAwait(false) is null) return false;
        if (value is null)
            await ExecuteAsync(c, tx, "DELETE FROM catalog.bucket_settings WHERE bucket = $1 AND name = $2", bucket, name).ConfigureAwait(false);
        else
            await ExecuteAsync(c, tx, """
                INSERT INTO catalog.bucket_settings(bucket, name, value) VALUES ($1, $2, $3)
                ON CONFLICT (bucket, name) DO UPDATE SET value = excluded.value
                """, bucket, name, value).ConfigureAwait(false);
        return true;
    }, ct);

    public async Task<IReadOnlyList<(string Bucket, string Value)>> ListBucketSettingsAsync(string name, CancellationToken ct = default) =>
        await ReadAsync("SELECT bucket, value FROM catalog.bucket_settings WHERE name = $1 ORDER BY bucket", r => (r.GetString(0), r.GetString(1)), ct, name)
            .ConfigureAwait(false);

    public async Task<VersionLock?> GetVersionLockAsync(string bucket, string name, string versionId, CancellationToken ct = default) =>
        (await ReadAsync("SELECT mode, retain_until, legal_hold FROM catalog.object_locks WHERE bucket = $1 AND name = $2 AND version_id = $3",
            r => ReadLockColumns(r, 0), ct, bucket, Encoding.UTF8.GetBytes(name), versionId).ConfigureAwait(false)).FirstOrDefault();

    public Task<VersionLock?> UpdateVersionLockAsync(string bucket, string name, string versionId, Func<VersionLock?, VersionLock> change, CancellationToken ct = default) =>
        TransactAsync<VersionLock?>(async (c, tx) =>
        {
            var nameBytes = Encoding.UTF8.GetBytes(name);
            // The name's lock: a delete of the version (which takes it too) judges the lock before or after this change.
            await LockNameAsync(c, tx, bucket, nameBytes).ConfigureAwait(false);
            if (await ScalarAsync(c, tx, "SELECT 1 FROM catalog.objects WHERE bucket = $1 AND name = $2 AND version_id = $3 AND NOT delete_marker",
                    bucket, nameBytes, versionId).ConfigureAwait(false) is null) return null;
            var next = change(await ReadLockAsync(c, tx, bucket, nameBytes, versionId).ConfigureAwait(false));
            await WriteLockAsync(c, tx, bucket, nameBytes, versionId, next).ConfigureAwait(false);
            return next;
        }, ct);

    public async Task<IReadOnlyList<LockedVersion>> LockedVersionsUnderKeyAsync(string keyId, DateTimeOffset now, int limit, CancellationToken ct = default) =>
        await ReadAsync("""
            SELECT l.bucket, l.name, l.version_id, l.mode, l.retain_until, l.legal_hold FROM catalog.object_locks l
            JOIN catalog.objects o ON o.bucket = l.bucket AND o.name = l.name AND o.version_id = l.version_id
            WHERE o.key_id = $1 AND (l.legal_hold OR l.retain_until > $2) ORDER BY l.bucket, l.name, l.version_id LIMIT $3
            """,
            r => new LockedVersion(r.GetString(0), Encoding.UTF8.GetString(r.GetFieldValue<byte[]>(1)), r.GetString(2), ReadLockColumns(r, 3)),
            ct, keyId, now.ToUnixTimeMilliseconds(), limit).ConfigureAwait(false);

    private static async Task<VersionLock?> ReadLockAsync(NpgsqlConnection c, NpgsqlTransaction tx, string bucket, byte[] name, string versionId) =>
        (await QueryAsync(c, tx, "SELECT mode, retain_until, legal_hold FROM catalog.object_locks WHERE bucket = $1 AND name = $2 AND version_id = $3",
            r => ReadLockColumns(r, 0), bucket, name, versionId).ConfigureAwait(false)).FirstOrDefault();

    private static VersionLock ReadLockColumns(NpgsqlDataReader r, int first) => new(
        r.IsDBNull(first) ? null : VersionLocks.ParseMode(r.GetString(first)),
        r.IsDBNull(first + 1) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(first + 1)),
        r.GetBoolean(first + 2));

    /// <summary>Writes a version's lock; a lock that holds nothing (no retention, no hold) is no row at all.</summary>
    private static Task<int> WriteLockAsync(NpgsqlConnection c, NpgsqlTransaction tx, string bucket, byte[] name, string versionId, VersionLock versionLock) =>
        versionLock.Mode is null && !versionLock.LegalHold
            ? ExecuteAsync(c, tx, "DELETE FROM catalog.object_locks WHERE bucket = $1 AND name = $2 AND version_id = $3", bucket, name, versionId)
            : ExecuteAsync(c, tx, """
                INSERT INTO catalog.object_locks(bucket, name, version_id, mode, retain_until, legal_hold) VALUES ($1, $2, $3, $4::text, $5::bigint, $6)
                ON CONFLICT (bucket, name, version_id) DO UPDATE SET mode = excluded.mode, retain_until = excluded.retain_until, legal_hold = excluded.legal_hold
                """, bucket, name, versionId, VersionLocks.ModeName(versionLock.Mode), versionLock.RetainUntil?.ToUnixTimeMilliseconds(), versionLock.LegalHold);
}
