using System.Text;
using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Objects.Encryption;
using Coffre.Objects.Keys;
using Coffre.Objects.Lock;
using Coffre.Objects.Tagging;
using Coffre.Objects.Versions;
using Npgsql;

namespace Coffre.Postgres.Objects;

/// <summary>
/// The object catalog in PostgreSQL, shared by every Coffre instance on the database (schema <c>catalog</c>,
/// Objects/Migrations). Each write is one transaction of its own, with asynchronous I/O throughout.
/// </summary>
/// <remarks>
/// Why no group commit here, unlike SQLite: PostgreSQL already flushes the WAL once for all transactions committing
/// at the same moment, so concurrent writers share fsyncs without batching; and batching several writers' row locks
/// into one long transaction would let two instances' batches deadlock on each other's rows.
/// Atomicity across instances comes from locks taken in one order — bucket (shared), object name (an advisory lock),
/// upload — so two instances never wait on each other in a cycle: a write of a name locks the name before it checks
/// a condition or adds a version, and a completion locks the upload's row before it checks its parts.
/// </remarks>
public sealed partial class PostgresObjectCatalog : IObjectCatalog, IAsyncDisposable
{
    private const int Attempts = 3;
    private readonly NpgsqlDataSource _db;
    private readonly TimeProvider _time;

    private PostgresObjectCatalog(NpgsqlDataSource db, TimeProvider time)
    {
        _db = db;
        _time = time;
    }

    /// <summary>Connects to the database of <paramref name="connectionString"/> and brings the catalog's schema up to
    /// date (creating it in an empty database). Throws <see cref="ObjectStoreException"/> (CatalogUnavailable) when
    /// the database cannot be reached.</summary>
    /// <param name="time">The clock that dates garbage (the object store's clock).</param>
    public static async Task<PostgresObjectCatalog> OpenAsync(string connectionString, TimeProvider? time = null, CancellationToken ct = default)
    {
        var db = NpgsqlDataSource.Create(connectionString);
        try
        {
            await CatalogMigrations.ApplyAsync(db, ct).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            await db.DisposeAsync().ConfigureAwait(false);
            throw Unavailable(e);
        }
        catch
        {
            await db.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return new PostgresObjectCatalog(db, time ?? TimeProvider.System);
    }

    public ValueTask DisposeAsync() => _db.DisposeAsync();

    // ---- buckets ----

    public Task<bool> TryCreateBucketAsync(BucketRecord bucket, CancellationToken ct = default) => TransactAsync(async (c, tx) =>
        await ExecuteAsync(c, tx, "INSERT INTO catalog.buckets(name, key_id, created, versioning) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            bucket.Name, bucket.KeyId, bucket.Created.ToUnixTimeMilliseconds(), (int)bucket.Versioning).ConfigureAwait(false) == 1, ct);

    public async Task<BucketRecord?> GetBucketAsync(string name, CancellationToken ct = default) =>
        (await ReadAsync("SELECT name, key_id, created, versioning FROM catalog.buckets WHERE name = $1", ReadBucket, ct, name).ConfigureAwait(false)).FirstOrDefault();

    public async Task<IReadOnlyList<BucketRecord>> ListBucketsAsync(CancellationToken ct = default) =>
        await ReadAsync("SELECT name, key_id, created, versioning FROM catalog.buckets ORDER BY name", ReadBucket, ct).ConfigureAwait(false);

    public Task<bool> TryDeleteEmptyBucketAsync(string name, CancellationToken ct = default) => TransactAsync(async (c, tx) =>
    {
        // The bucket's row locked first: a commit into it (which takes the row in share mode) waits, then finds it gone.
        if (await ScalarAsync(c, tx, "SELECT 1 FROM catalog.buckets WHERE name = $1 FOR UPDATE", name).ConfigureAwait(false) is null) return true;
        var used = (bool)(await ScalarAsync(c, tx,
            "SELECT EXISTS(SELECT 1 FROM catalog.objects WHERE bucket = $1) OR EXISTS(SELECT 1 FROM catalog.uploads WHERE bucket = $1)", name).ConfigureAwait(false))!;
        if (used) return false;
        await ExecuteAsync(c, tx, "DELETE FROM catalog.bucket_encryption WHERE bucket = $1", name).ConfigureAwait(false);
        await ExecuteAsync(c, tx, "DELETE FROM catalog.bucket_tagging WHERE bucket = $1", name).ConfigureAwait(false);
        await ExecuteAsync(c, tx, "DELETE FROM catalog.bucket_settings WHERE bucket = $1", name).ConfigureAwait(false);
        await ExecuteAsync(c, tx, "DELETE FROM catalog.buckets WHERE name = $1", name).ConfigureAwait(false);
        return true;
    }, ct);

    public async Task<BucketEncryption?> GetBucketEncryptionAsync(string bucket, CancellationToken ct = default) =>
        (await ReadAsync("SELECT algorithm, key_id, bucket_key_enabled FROM catalog.bucket_encryption WHERE bucket = $1",
            r => new BucketEncryption(r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.GetBoolean(2)), ct, bucket).ConfigureAwait(false)).FirstOrDefault();

    public Task SetBucketEncryptionAsync(string bucket, BucketEncryption? encryption, CancellationToken ct = default) => TransactAsync(async (c, tx) =>
        encryption is null
            ? await ExecuteAsync(c, tx, "DELETE FROM catalog.bucket_encryption WHERE bucket = $1", bucket).ConfigureAwait(false)
            : await ExecuteAsync(c, tx, """
                INSERT INTO catalog.bucket_encryption(bucket, algorithm, key_id, bucket_key_enabled) VALUES ($1, $2, $3::text, $4)
                ON CONFLICT (bucket) DO UPDATE SET algorithm = excluded.algorithm, key_id = excluded.key_id, bucket_key_enabled = excluded.bucket_key_enabled
                """, bucket, encryption.Algorithm, encryption.KeyId, encryption.BucketKeyEnabled).ConfigureAwait(false), ct);

    public async Task<IReadOnlyList<ObjectTag>?> GetBucketTagsAsync(string bucket, CancellationToken ct = default) =>
        (await ReadAsync("SELECT tags FROM catalog.bucket_tagging WHERE bucket = $1", r => CatalogRules.DeserializeTags(r.GetString(0)), ct, bucket).ConfigureAwait(false))
            .FirstOrDefault();

    public Task SetBucketTagsAsync(string bucket, IReadOnlyList<ObjectTag>? tags, CancellationToken ct = default) => TransactAsync(async (c, tx) =>
        tags is null
            ? await ExecuteAsync(c, tx, "DELETE FROM catalog.bucket_tagging WHERE bucket = $1", bucket).ConfigureAwait(false)
            : await ExecuteAsync(c, tx, """
                INSERT INTO catalog.bucket_tagging(bucket, tags) VALUES ($1, $2)
                ON CONFLICT (bucket) DO UPDATE SET tags = excluded.tags
                """, bucket, CatalogRules.SerializeTags(tags)).ConfigureAwait(false), ct);

    // ---- objects ----

    public Task<bool> SetBucketVersioningAsync(string bucket, BucketVersioning state, CancellationToken ct = default) => TransactAsync(async (c, tx) =>
        await ExecuteAsync(c, tx, "UPDATE catalog.buckets SET versioning = $2 WHERE name = $1", bucket, (int)state).ConfigureAwait(false) == 1, ct);

    public async Task<VersionEntry?> GetVersionAsync(string bucket, string name, string? versionId, CancellationToken ct = default) =>
        (await ReadAsync($"SELECT {Columns} FROM catalog.objects WHERE bucket = $1 AND name = $2 AND ($3::text IS NULL OR version_id = $3) ORDER BY seq LIMIT 1",
            ReadEntry, ct, bucket, Encoding.UTF8.GetBytes(name), versionId).ConfigureAwait(false)).FirstOrDefault();

    public Task CommitObjectAsync(ObjectRecord record, string? completedUploadId = null, WriteCondition? condition = null, CancellationToken ct = default,
        VersionLock? versionLock = null) => TransactAsync(async (c, tx) =>
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var name = Encoding.UTF8.GetBytes(record.Name);
        await LockNameAsync(c, tx, record.Bucket, name).ConfigureAwait(false);
        var currentETag = (string?)await ScalarAsync(c, tx, "SELECT etag FROM catalog.objects WHERE bucket = $1 AND name = $2 AND is_latest AND NOT delete_marker",
            record.Bucket, name).ConfigureAwait(false);
        if (condition?.Check(record.Bucket, record.Name, currentETag) is { } refused) throw refused;
        var garbage = new List<string>();
        if (completedUploadId is not null)
        {
            var exists = await ScalarAsync(c, tx, "SELECT 1 FROM catalog.uploads WHERE upload_id = $1 FOR UPDATE", completedUploadId).ConfigureAwait(false) is not null;
            var uploadParts = exists ? (await ListUploadPartsAsync(c, tx, completedUploadId).ConfigureAwait(false)).Select(p => p.Part).ToList() : null;
            if (CatalogRules.CompletionRefused(completedUploadId, uploadParts, record.Parts) is { } stale) throw stale;
            // Parts uploaded but left out of the completed object are garbage too.
            garbage.AddRange(uploadParts!.Where(u => record.Parts.All(p => p.Blob != u.Blob)).Select(u => u.Blob));
            await ExecuteAsync(c, tx, "DELETE FROM catalog.upload_parts WHERE upload_id = $1", completedUploadId).ConfigureAwait(false);
            await ExecuteAsync(c, tx, "DELETE FROM catalog.uploads WHERE upload_id = $1", completedUploadId).ConfigureAwait(false);
        }
        garbage.AddRange(await AddLatestVersionAsync(c, tx, record.Bucket, name, record.VersionId, record.Parts,
            false, record.Size, record.ETag, record.Modified.ToUnixTimeMilliseconds(), record.Key.KeyId, record.Key.KeyVersion,
            record.Key.Wrapped, record.SealedMetadata, CatalogRules.SerializeParts(record.Parts), record.StorageClass).ConfigureAwait(false));
        await AddGarbageAsync(c, tx, garbage, now).ConfigureAwait(false);
        await ExecuteAsync(c, tx, "DELETE FROM catalog.garbage WHERE blob = ANY($1)", (object)record.Parts.Select(p => p.Blob).ToArray()).ConfigureAwait(false);
        if (versionLock is not null) await WriteLockAsync(c, tx, record.Bucket, name, record.VersionId, versionLock).ConfigureAwait(false);
        return true;
    }, ct);

    public Task CommitDeleteMarkerAsync(string bucket, string name, string versionId, DateTimeOffset modified, CancellationToken ct = default) => TransactAsync(async (c, tx) =>
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        await LockNameAsync(c, tx, bucket, nameBytes).ConfigureAwait(false);
        var garbage = await AddLatestVersionAsync(c, tx, bucket, nameBytes, versionId, [],
            true, 0L, "", modified.ToUnixTimeMilliseconds(), "", 0, Array.Empty<byte>(), Array.Empty<byte>(), "[]", StorageClasses.Standard).ConfigureAwait(false);
        await AddGarbageAsync(c, tx, garbage, _time.GetUtcNow().ToUnixTimeMilliseconds()).ConfigureAwait(false);
        return true;
    }, ct);

    public Task<VersionEntry?> DeleteVersionAsync(string bucket, string name, string versionId, CancellationToken ct = default, bool bypassGovernance = false) => TransactAsync(async (c, tx) =>
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        await LockNameAsync(c, tx, bucket, nameBytes).ConfigureAwait(false);
        // Under the name's lock: a lock change of this version (which takes it too) is either before or after.
        if ((await ReadLockAsync(c, tx, bucket, nameBytes, versionId).ConfigureAwait(false))?.DeleteRefusal(bucket, name, versionId, _time.GetUtcNow(), bypassGovernance) is { } locked)
            throw locked;
        await ExecuteAsync(c, tx, "DELETE FROM catalog.object_locks WHERE bucket = $1 AND name = $2 AND version_id = $3", bucket, nameBytes, versionId).ConfigureAwait(false);
        await DeleteAclAsync(c, tx, bucket, nameBytes, versionId).ConfigureAwait(false);
        var entry = (await QueryAsync(c, tx, $"DELETE FROM catalog.objects WHERE bucket = $1 AND name = $2 AND version_id = $3 RETURNING {Columns}",
            ReadEntry, bucket, nameBytes, versionId).ConfigureAwait(false)).FirstOrDefault();
        if (entry is null) return null;
        if (entry.Record is { } record)
            await AddGarbageAsync(c, tx, CatalogRules.SupersededBlobs(record.Parts, []).ToList(), _time.GetUtcNow().ToUnixTimeMilliseconds()).ConfigureAwait(false);
        if (entry.IsLatest)
            await ExecuteAsync(c, tx, """
                UPDATE catalog.objects SET is_latest = true
                WHERE bucket = $1 AND name = $2 AND seq = (SELECT min(seq) FROM catalog.objects WHERE bucket = $1 AND name = $2)
                """, bucket, nameBytes).ConfigureAwait(false);
        return entry;
    }, ct);

    public Task<ListPage> ListObjectsAsync(string bucket, string prefix, string? delimiter, string? startAfter, int maxKeys, CancellationToken ct = default) =>
        ObjectListing.ListAsync(async (lower, inclusive, upper, limit, token) => await ReadAsync(
            $"SELECT {Columns} FROM catalog.objects WHERE bucket = $1 AND name {(inclusive ? ">=" : ">")} $2 AND name < $3 AND is_latest AND NOT delete_marker ORDER BY name LIMIT $4",
            ReadObject, token, bucket, lower, upper, limit).ConfigureAwait(false), prefix, delimiter, startAfter, maxKeys, ct);

    public async Task<VersionPage> ListVersionsAsync(string bucket, string prefix, string? delimiter, string? keyMarker, string? versionIdMarker, int maxKeys, CancellationToken ct = default)
    {
        long? markerPosition = null;
        if (keyMarker is not null && versionIdMarker is not null)
            markerPosition = (await ReadAsync("SELECT seq FROM catalog.objects WHERE bucket = $1 AND name = $2 AND version_id = $3", r => (long?)r.GetInt64(0), ct,
                bucket, Encoding.UTF8.GetBytes(keyMarker), versionIdMarker).ConfigureAwait(false)).FirstOrDefault()
                ?? throw CatalogRules.NoSuchVersionMarker(keyMarker, versionIdMarker);
        return await VersionListing.ListAsync(async (lower, after, inclusive, upper, limit, token) => await ReadAsync(
                $"SELECT {Columns} FROM catalog.objects WHERE bucket = $1 AND {(after is null ? $"name {(inclusive ? ">=" : ">")} $2" : "(name, seq) > ($2, $5)")} AND name < $3 ORDER BY name, seq LIMIT $4",
                r => (ReadEntry(r), r.GetInt64(13)), token, bucket, lower, upper, limit, after ?? 0L).ConfigureAwait(false),
            prefix, delimiter, keyMarker, markerPosition, maxKeys, ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<(string Bucket, string Name, int Version)>> ObjectsUnderKeyAsync(string keyId, int? version = null, CancellationToken ct = default) =>
        await ReadAsync("SELECT bucket, name, key_version FROM catalog.objects WHERE key_id = $1 AND ($2::integer IS NULL OR key_version = $2) ORDER BY bucket, name",
            r => (r.GetString(0), Encoding.UTF8.GetString(r.GetFieldValue<byte[]>(1)), r.GetInt32(2)), ct, keyId, version).ConfigureAwait(false);

    public async Task<IReadOnlyList<string>> KeysInUseAsync(CancellationToken ct = default) =>
        await ReadAsync("SELECT DISTINCT key_id FROM catalog.objects WHERE NOT delete_marker ORDER BY key_id", r => r.GetString(0), ct).ConfigureAwait(false);

    public async Task<IReadOnlyDictionary<(string KeyId, int Version), long>> CountByKeyVersionAsync(CancellationToken ct = default) =>
        (await ReadAsync("SELECT key_id, key_version, count(*) FROM catalog.objects WHERE NOT delete_marker GROUP BY key_id, key_version",
            r => (Key: (r.GetString(0), r.GetInt32(1)), Count: r.GetInt64(2)), ct).ConfigureAwait(false)).ToDictionary(x => x.Key, x => x.Count);

    public async Task<IReadOnlyList<ObjectRecord>> ObjectsBelowVersionAsync(string keyId, int version, string? bucket, (string Bucket, string Name, string VersionId)? after, int limit, CancellationToken ct = default) =>
        await ReadAsync(
            $"SELECT {Columns} FROM catalog.objects WHERE key_id = $1 AND key_version < $2 AND ($3::text IS NULL OR bucket = $3) " +
            "AND ($4::text IS NULL OR (bucket, name, version_id) > ($4::text COLLATE \"C\", $5::bytea, $7::text COLLATE \"C\")) ORDER BY bucket, name, version_id LIMIT $6",
            ReadObject, ct, keyId, version, bucket, after?.Bucket, after is { } a ? Encoding.UTF8.GetBytes(a.Name) : null, limit, after?.VersionId).ConfigureAwait(false);

    public async Task<long> CountBelowVersionAsync(string keyId, int version, string? bucket, CancellationToken ct = default) =>
        (await ReadAsync("SELECT count(*) FROM catalog.objects WHERE key_id = $1 AND key_version < $2 AND ($3::text IS NULL OR bucket = $3)",
            r => r.GetInt64(0), ct, keyId, version, bucket).ConfigureAwait(false))[0];

    public Task<bool> ReplaceWrappedKeyAsync(string bucket, string name, WrappedKeyRef expected, WrappedKeyRef replacement, CancellationToken ct = default) => TransactAsync(async (c, tx) =>
        await ExecuteAsync(c, tx, """
            UPDATE catalog.objects SET key_version = $1, wrapped_key = $2
            WHERE bucket = $3 AND name = $4 AND key_id = $5 AND key_version = $6 AND wrapped_key = $7
            """, replacement.KeyVersion, replacement.Wrapped, bucket, Encoding.UTF8.GetBytes(name), expected.KeyId, expected.KeyVersion, expected.Wrapped).ConfigureAwait(false) == 1, ct);

    public Task<bool> ReplaceSealedMetadataAsync(string bucket, string name, string versionId, byte[] expected, byte[] replacement, CancellationToken ct = default) =>
        TransactAsync(async (c, tx) => await ExecuteAsync(c, tx, """
            UPDATE catalog.objects SET metadata = $1
            WHERE bucket = $2 AND name = $3 AND version_id = $4 AND NOT delete_marker AND metadata = $5
            """, replacement, bucket, Encoding.UTF8.GetBytes(name), versionId, expected).ConfigureAwait(false) == 1, ct);

    // ---- multipart uploads ----

    public Task CreateUploadAsync(UploadRecord upload, CancellationToken ct = default) => TransactAsync(async (c, tx) =>
    {
        if (await ScalarAsync(c, tx, "SELECT 1 FROM catalog.buckets WHERE name = $1 FOR SHARE", upload.Bucket).ConfigureAwait(false) is null)
            throw CatalogRules.NoSuchBucket(upload.Bucket);
        return await ExecuteAsync(c, tx, $"INSERT INTO catalog.uploads({UploadColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            upload.UploadId, upload.Bucket, Encoding.UTF8.GetBytes(upload.Name), upload.Created.ToUnixTimeMilliseconds(),
            upload.Key.KeyId, upload.Key.KeyVersion, upload.Key.Wrapped, upload.SealedMetadata, upload.StorageClass).ConfigureAwait(false);
    }, ct);

    public async Task<UploadRecord?> GetUploadAsync(string uploadId, CancellationToken ct = default) =>
        (await ReadAsync($"SELECT {UploadColumns} FROM catalog.uploads WHERE upload_id = $1", ReadUpload, ct, uploadId).ConfigureAwait(false)).FirstOrDefault();

    public async Task<IReadOnlyList<UploadRecord>> ListUploadsAsync(string bucket, string prefix, CancellationToken ct = default)
    {
        var p = Encoding.UTF8.GetBytes(prefix);
        return await ReadAsync($"SELECT {UploadColumns} FROM catalog.uploads WHERE bucket = $1 AND name >= $2 AND name < $3 ORDER BY name, created, upload_id",
            ReadUpload, ct, bucket, p, ObjectListing.Upper(p)).ConfigureAwait(false);
    }

    public Task<bool> PutUploadPartAsync(string uploadId, StoredPart part, DateTimeOffset modified, CancellationToken ct = default) => TransactAsync(async (c, tx) =>
    {
        // The upload's row locked: a completion or an abort on another instance waits for this part, or this part for it.
        if (await ScalarAsync(c, tx, "SELECT 1 FROM catalog.uploads WHERE upload_id = $1 FOR UPDATE", uploadId).ConfigureAwait(false) is null) return false;
        if (await ScalarAsync(c, tx, "SELECT part FROM catalog.upload_parts WHERE upload_id = $1 AND number = $2", uploadId, part.Number).ConfigureAwait(false) is string old)
            await AddGarbageAsync(c, tx, [CatalogRules.DeserializePart(old).Blob], _time.GetUtcNow().ToUnixTimeMilliseconds()).ConfigureAwait(false);
        await ExecuteAsync(c, tx, """
            INSERT INTO catalog.upload_parts(upload_id, number, part, modified) VALUES ($1, $2, $3, $4)
            ON CONFLICT (upload_id, number) DO UPDATE SET part = excluded.part, modified = excluded.modified
            """, uploadId, part.Number, CatalogRules.SerializePart(part), modified.ToUnixTimeMilliseconds()).ConfigureAwait(false);
        await ExecuteAsync(c, tx, "DELETE FROM catalog.garbage WHERE blob = $1", part.Blob).ConfigureAwait(false);
        return true;
    }, ct);

    public async Task<IReadOnlyList<UploadPartRecord>> ListUploadPartsAsync(string uploadId, CancellationToken ct = default) =>
        await ReadAsync("SELECT part, modified FROM catalog.upload_parts WHERE upload_id = $1 ORDER BY number", ReadPart, ct, uploadId).ConfigureAwait(false);

    public Task<bool> AbortUploadAsync(string uploadId, CancellationToken ct = default) => TransactAsync(async (c, tx) =>
    {
        if (await ScalarAsync(c, tx, "DELETE FROM catalog.uploads WHERE upload_id = $1 RETURNING 1", uploadId).ConfigureAwait(false) is null) return false;
        var parts = await QueryAsync(c, tx, "DELETE FROM catalog.upload_parts WHERE upload_id = $1 RETURNING part",
            r => CatalogRules.DeserializePart(r.GetString(0)).Blob, uploadId).ConfigureAwait(false);
        await AddGarbageAsync(c, tx, parts, _time.GetUtcNow().ToUnixTimeMilliseconds()).ConfigureAwait(false);
        return true;
    }, ct);

    // ---- garbage ----

    public Task RecordPendingBlobAsync(string blob, CancellationToken ct = default) => TransactAsync(async (c, tx) =>
    {
        await AddGarbageAsync(c, tx, [blob], _time.GetUtcNow().Add(CatalogRules.PendingBlobLifetime).ToUnixTimeMilliseconds()).ConfigureAwait(false);
        return true;
    }, ct);

    public Task AbandonPendingBlobAsync(string blob, CancellationToken ct = default) => TransactAsync((c, tx) =>
        ExecuteAsync(c, tx, "UPDATE catalog.garbage SET since = $1 WHERE blob = $2", _time.GetUtcNow().ToUnixTimeMilliseconds(), blob), ct);

    public async Task<IReadOnlyList<string>> GarbageOlderThanAsync(DateTimeOffset olderThan, CancellationToken ct = default) =>
        await ReadAsync("SELECT blob FROM catalog.garbage WHERE since < $1", r => r.GetString(0), ct, olderThan.ToUnixTimeMilliseconds()).ConfigureAwait(false);

    public Task ForgetGarbageAsync(string blob, CancellationToken ct = default) => TransactAsync((c, tx) =>
        ExecuteAsync(c, tx, "DELETE FROM catalog.garbage WHERE blob = $1", blob), ct);

    // ---- plumbing ----

    private const string Columns = "bucket, name, size, etag, modified, key_id, key_version, wrapped_key, metadata, parts, version_id, is_latest, delete_marker, seq, storage_class";
    private const string UploadColumns = "upload_id, bucket, name, created, key_id, key_version, wrapped_key, metadata, storage_class";

    /// <summary>
    /// Runs <paramref name="work"/> in a transaction of its own and commits it. A deadlock or serialization failure
    /// (PostgreSQL rolled the transaction back whole) is retried; any other database failure is CatalogUnavailable.
    /// </summary>
    private async Task<T> TransactAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var c = await _db.OpenConnectionAsync(ct).ConfigureAwait(false);
                await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
                var result = await work(c, tx).ConfigureAwait(false);
                await tx.CommitAsync(ct).ConfigureAwait(false);
                return result;
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure && attempt < Attempts)
            {
            }
            catch (NpgsqlException e)
            {
                throw Unavailable(e);
            }
        }
    }

    private async Task<List<T>> ReadAsync<T>(string sql, Func<NpgsqlDataReader, T> row, CancellationToken ct, params object?[] args)
    {
        try
        {
            await using var c = await _db.OpenConnectionAsync(ct).ConfigureAwait(false);
            return await QueryAsync(c, null, sql, row, ct, args).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw Unavailable(e);
        }
    }

    private static Task<List<T>> QueryAsync<T>(NpgsqlConnection c, NpgsqlTransaction tx, string sql, Func<NpgsqlDataReader, T> row, params object?[] args) =>
        QueryAsync(c, tx, sql, row, CancellationToken.None, args);

    private static async Task<List<T>> QueryAsync<T>(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, Func<NpgsqlDataReader, T> row, CancellationToken ct, object?[] args)
    {
        await using var cmd = Command(c, tx, sql, args);
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var list = new List<T>();
        while (await r.ReadAsync(ct).ConfigureAwait(false)) list.Add(row(r));
        return list;
    }

    private static async Task<int> ExecuteAsync(NpgsqlConnection c, NpgsqlTransaction tx, string sql, params object?[] args)
    {
        await using var cmd = Command(c, tx, sql, args);
        return await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection c, NpgsqlTransaction tx, string sql, params object?[] args)
    {
        await using var cmd = Command(c, tx, sql, args);
        var value = await cmd.ExecuteScalarAsync().ConfigureAwait(false);
        return value is DBNull ? null : value;
    }

    private static NpgsqlCommand Command(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, object?[] args)
    {
        var cmd = new NpgsqlCommand(sql, c, tx);
        foreach (var a in args) cmd.Parameters.Add(new NpgsqlParameter { Value = a ?? DBNull.Value });
        return cmd;
    }

    private static Task AddGarbageAsync(NpgsqlConnection c, NpgsqlTransaction tx, IReadOnlyCollection<string> blobs, long since) =>
        blobs.Count == 0
            ? Task.CompletedTask
            : ExecuteAsync(c, tx, "INSERT INTO catalog.garbage(blob, since) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING", blobs.ToArray(), since);

    private static Task<List<UploadPartRecord>> ListUploadPartsAsync(NpgsqlConnection c, NpgsqlTransaction tx, string uploadId) =>
        QueryAsync(c, tx, "SELECT part, modified FROM catalog.upload_parts WHERE upload_id = $1 ORDER BY number", ReadPart, uploadId);

    private static ObjectStoreException Unavailable(NpgsqlException e) =>
        new(ObjectError.CatalogUnavailable, "The object catalog's database (PostgreSQL) could not be reached or refused the change; nothing was changed. Retry; the server's log has the cause.", e);

    private static BucketRecord ReadBucket(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2))) { Versioning = (BucketVersioning)r.GetInt32(3) };

    private static ObjectRecord ReadObject(NpgsqlDataReader r) => new(
        r.GetString(0), Encoding.UTF8.GetString(r.GetFieldValue<byte[]>(1)), r.GetInt64(2), r.GetString(3),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)),
        new WrappedKeyRef(r.GetString(5), r.GetInt32(6), r.GetFieldValue<byte[]>(7)),
        r.GetFieldValue<byte[]>(8), CatalogRules.DeserializeParts(r.GetString(9))) { VersionId = r.GetString(10), StorageClass = r.GetString(14) };

    private static VersionEntry ReadEntry(NpgsqlDataReader r) => new(
        r.GetString(0), Encoding.UTF8.GetString(r.GetFieldValue<byte[]>(1)), r.GetString(10), r.GetBoolean(11),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)), r.GetBoolean(12) ? null : ReadObject(r));

    /// <summary>
    /// Holds the bucket (shared: it cannot be deleted meanwhile) and the object name (exclusive, a transaction-scoped
    /// advisory lock) until the transaction ends: every version change of one name, on any instance, runs alone, so a
    /// conditional write's check still holds at its commit and new versions take distinct positions.
    /// </summary>
    private static async Task LockNameAsync(NpgsqlConnection c, NpgsqlTransaction tx, string bucket, byte[] name)
    {
        if (await ScalarAsync(c, tx, "SELECT 1 FROM catalog.buckets WHERE name = $1 FOR SHARE", bucket).ConfigureAwait(false) is null)
            throw CatalogRules.NoSuchBucket(bucket);
        await ExecuteAsync(c, tx, "SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || encode($2, 'hex'), 0))", bucket, name).ConfigureAwait(false);
    }

    /// <summary>
    /// Adds a version above all of its name's versions and makes it the latest; the caller holds the name's lock. A null
    /// version first replaces the name's null version: returns the blobs of that version <paramref name="parts"/> does not reuse.
    /// </summary>
    private static async Task<List<string>> AddLatestVersionAsync(NpgsqlConnection c, NpgsqlTransaction tx, string bucket, byte[] name, string versionId,
        IReadOnlyList<StoredPart> parts, bool deleteMarker, long size, string etag, long modified, string keyId, int keyVersion, byte[] wrapped, byte[] metadata, string partsJson,
        string storageClass)
    {
        var garbage = new List<string>();
        if (versionId == VersionIds.Null)
        {
            var old = (await QueryAsync(c, tx, "DELETE FROM catalog.objects WHERE bucket = $1 AND name = $2 AND version_id = 'null' RETURNING parts, delete_marker",
                r => (Parts: r.GetString(0), Marker: r.GetBoolean(1)), bucket, name).ConfigureAwait(false)).FirstOrDefault();
            if (old.Parts is not null && !old.Marker)
                garbage.AddRange(CatalogRules.SupersededBlobs(CatalogRules.DeserializeParts(old.Parts), parts));
            await DeleteAclAsync(c, tx, bucket, name, VersionIds.Null).ConfigureAwait(false); // a new null version does not inherit the replaced one's ACL
        }
        await ExecuteAsync(c, tx, "UPDATE catalog.objects SET is_latest = false WHERE bucket = $1 AND name = $2 AND is_latest", bucket, name).ConfigureAwait(false);
        await ExecuteAsync(c, tx, """
            INSERT INTO catalog.objects(bucket, name, seq, version_id, is_latest, delete_marker, size, etag, modified, key_id, key_version, wrapped_key, metadata, parts, storage_class)
            VALUES ($1, $2, (SELECT coalesce(min(seq), 0) - 1 FROM catalog.objects WHERE bucket = $1 AND name = $2), $3, true, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            """, bucket, name, versionId, deleteMarker, size, etag, modified, keyId, keyVersion, wrapped, metadata, partsJson, storageClass).ConfigureAwait(false);
        return garbage;
    }

    private static UploadRecord ReadUpload(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetString(1), Encoding.UTF8.GetString(r.GetFieldValue<byte[]>(2)),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3)),
        new WrappedKeyRef(r.GetString(4), r.GetInt32(5), r.GetFieldValue<byte[]>(6)), r.GetFieldValue<byte[]>(7)) { StorageClass = r.GetString(8) };

    private static UploadPartRecord ReadPart(NpgsqlDataReader r) =>
        new(CatalogRules.DeserializePart(r.GetString(0)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)));
}
