using System.Text;
using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Objects.Encryption;
using Coffre.Objects.Keys;
using Coffre.Objects.Lock;
using Coffre.Objects.Tagging;
using Coffre.Objects.Versions;
using Coffre.Persistence;
using Microsoft.Data.Sqlite;

namespace Coffre.Sqlite.Objects;

/// <summary>
/// The object catalog in one SQLite file beside the key store (WAL, FULL sync). Object names are stored as UTF-8
/// BLOBs, so SQLite's memcmp ordering is S3's listing order. Writes are group-committed: concurrent writers'
/// transactions run as savepoints of one transaction, one fsync for all, each caller's task completing after the
/// commit that holds its write; a failing write fails its caller alone.
/// </summary>
public sealed partial class SqliteObjectCatalog : IObjectCatalog, IAsyncDisposable
{
    private const int SchemaVersion = 2;
    private const int MaxBatch = 256;
    private readonly string _connectionString;
    private readonly TimeProvider _time;
    private readonly GroupCommit<Write, object?> _writes;
    private readonly BlockingIoThread _writer = new("coffre catalog.db writer");

    private delegate object? Write(SqliteConnection c, SqliteTransaction tx);

    private SqliteObjectCatalog(string connectionString, TimeProvider time)
    {
        _connectionString = connectionString;
        _time = time;
        _writes = new GroupCommit<Write, object?>(CommitBatchAsync, MaxBatch, describeFailure: e => e is SqliteException s ? Unavailable(s) : e);
    }

    /// <summary>Opens (creating if needed) the catalog file at <paramref name="databasePath"/>.</summary>
    /// <param name="time">The clock that dates garbage (the object store's clock, so the grace period is measured on one clock).</param>
    public static SqliteObjectCatalog Open(string databasePath, TimeProvider? time = null)
    {
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        var catalog = new SqliteObjectCatalog(connectionString, time ?? TimeProvider.System);
        using var c = catalog.OpenForWrite();
        var version = Convert.ToInt64(Scalar(c, null, "PRAGMA user_version"));
        if (version == 0)
        {
                Execute(c, null, """
                PRAGMA journal_mode = WAL;
                CREATE TABLE IF NOT EXISTS buckets(
                    name TEXT PRIMARY KEY, key_id TEXT NOT NULL, created INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS objects(
                    bucket TEXT NOT NULL, name BLOB NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
                    modified INTEGER NOT NULL, key_id TEXT NOT NULL, key_version INTEGER NOT NULL,
                    wrapped_key BLOB NOT NULL, metadata BLOB NOT NULL, parts TEXT NOT NULL,
                    PRIMARY KEY(bucket, name)) WITHOUT ROWID;
                CREATE INDEX IF NOT EXISTS objects_by_key ON objects(key_id, key_version);
                CREATE TABLE IF NOT EXISTS uploads(
                    upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, name BLOB NOT NULL, created INTEGER NOT NULL,
                    key_id TEXT NOT NULL, key_version INTEGER NOT NULL, wrapped_key BLOB NOT NULL, metadata BLOB NOT NULL);
                CREATE INDEX IF NOT EXISTS uploads_by_bucket ON uploads(bucket, name);
                CREATE TABLE IF NOT EXISTS upload_parts(
                    upload_id TEXT NOT NULL, number INTEGER NOT NULL, part TEXT NOT NULL, modified INTEGER NOT NULL,
                    PRIMARY KEY(upload_id, number)) WITHOUT ROWID;
                -- Blobs written but not (yet) referenced, and blobs no longer referenced: collected once older than
                -- the grace period. A crash between writing a blob and committing its record leaves a row here.
                CREATE TABLE IF NOT EXISTS garbage(blob TEXT PRIMARY KEY, since INTEGER NOT NULL) WITHOUT ROWID;
                PRAGMA user_version = 1;
                """);
            version = 1;
        }
        if (version == 1)
        {
            // Version 2: object versions. An objects row is one version of a name (an object or a delete marker);
            // every existing object becomes its name's null version, latest, as S3 has it for a bucket that was never
            // versioned. One transaction: a crash leaves version 1 whole, and the next open migrates again.
            Execute(c, null, """
                BEGIN IMMEDIATE;
                CREATE TABLE objects_v2(
                    bucket TEXT NOT NULL, name BLOB NOT NULL,
                    -- A name's versions by position: each new version takes one below the smallest, so the primary
                    -- key's order is S3's listing order (names ascending, newest version first).
                    seq INTEGER NOT NULL, version_id TEXT NOT NULL, is_latest INTEGER NOT NULL, delete_marker INTEGER NOT NULL,
                    size INTEGER NOT NULL, etag TEXT NOT NULL,
                    modified INTEGER NOT NULL, key_id TEXT NOT NULL, key_version INTEGER NOT NULL,
                    wrapped_key BLOB NOT NULL, metadata BLOB NOT NULL, parts TEXT NOT NULL,
                    PRIMARY KEY(bucket, name, seq)) WITHOUT ROWID;
                INSERT INTO objects_v2(bucket, name, seq, version_id, is_latest, delete_marker, size, etag, modified, key_id, key_version, wrapped_key, metadata, parts)
                    SELECT bucket, name, 0, 'null', 1, 0, size, etag, modified, key_id, key_version, wrapped_key, metadata, parts FROM objects;
                DROP TABLE objects;
                ALTER TABLE objects_v2 RENAME TO objects;
                CREATE UNIQUE INDEX objects_by_version ON objects(bucket, name, version_id);
                -- ListObjects reads current objects only: this index holds nothing else, so a page never scans past
                -- older versions or delete markers.
                CREATE INDEX objects_current ON objects(bucket, name) WHERE is_latest = 1 AND delete_marker = 0;
                CREATE INDEX objects_by_key ON objects(key_id, key_version);
                ALTER TABLE buckets ADD COLUMN versioning INTEGER NOT NULL DEFAULT 0;
                PRAGMA user_version = 2;
                COMMIT;
                """);
        }
        else if (version != SchemaVersion)
        {
            throw new InvalidOperationException($"The catalog {databasePath} has schema version {version}; this Coffre understands {SchemaVersion}.");
        }
        // Added after version 1 without a version of its own: a table created if missing needs no migration.
        Execute(c, null, """
            CREATE TABLE IF NOT EXISTS bucket_encryption(
                bucket TEXT PRIMARY KEY, algorithm TEXT NOT NULL, key_id TEXT, bucket_key_enabled INTEGER NOT NULL) WITHOUT ROWID;
            """);
        // S3 storage classes and bucket tags (an object's tags are sealed in its metadata): as PostgreSQL migration 0005.
        AddColumnIfMissing(c, "objects", "storage_class", "TEXT NOT NULL DEFAULT 'STANDARD'");
        AddColumnIfMissing(c, "uploads", "storage_class", "TEXT NOT NULL DEFAULT 'STANDARD'");
        Execute(c, null, "CREATE TABLE IF NOT EXISTS bucket_tagging(bucket TEXT PRIMARY KEY, tags TEXT NOT NULL) WITHOUT ROWID;");
        CreateLockTables(c);
        CreateAclTable(c);
        return catalog;
    }

    public async ValueTask DisposeAsync()
    {
        await _writes.DisposeAsync().ConfigureAwait(false);
        _writer.Dispose();
    }

    // ---- buckets ----

    public Task<bool> TryCreateBucketAsync(BucketRecord bucket, CancellationToken ct = default) => WriteAsync((c, tx) =>
        Execute(c, tx, "INSERT OR IGNORE INTO buckets(name, key_id, created, versioning) VALUES ($n, $k, $t, $v)",
            ("$n", bucket.Name), ("$k", bucket.KeyId), ("$t", bucket.Created.ToUnixTimeMilliseconds()), ("$v", (int)bucket.Versioning)) == 1);

    public Task<BucketRecord?> GetBucketAsync(string name, CancellationToken ct = default) => ReadAsync(c =>
        Query(c, null, "SELECT name, key_id, created, versioning FROM buckets WHERE name = $n", ReadBucket, ("$n", name)).FirstOrDefault());

    public Task<IReadOnlyList<BucketRecord>> ListBucketsAsync(CancellationToken ct = default) => ReadAsync<IReadOnlyList<BucketRecord>>(c =>
        Query(c, null, "SELECT name, key_id, created, versioning FROM buckets ORDER BY name", ReadBucket));

    public Task<bool> TryDeleteEmptyBucketAsync(string name, CancellationToken ct = default) => WriteAsync((c, tx) =>
    {
        var used = Convert.ToInt64(Scalar(c, tx, "SELECT EXISTS(SELECT 1 FROM objects WHERE bucket = $n) OR EXISTS(SELECT 1 FROM uploads WHERE bucket = $n)",
            ("$n", name)));
        if (used != 0) return false;
        Execute(c, tx, "DELETE FROM buckets WHERE name = $n", ("$n", name));
        Execute(c, tx, "DELETE FROM bucket_encryption WHERE bucket = $n", ("$n", name));
        Execute(c, tx, "DELETE FROM bucket_tagging WHERE bucket = $n", ("$n", name));
        Execute(c, tx, "DELETE FROM bucket_settings WHERE bucket = $n", ("$n", name));
        return true;
    });

    public Task<BucketEncryption?> GetBucketEncryptionAsync(string bucket, CancellationToken ct = default) => ReadAsync(c =>
        Query(c, null, "SELECT algorithm, key_id, bucket_key_enabled FROM bucket_encryption WHERE bucket = $b",
            r => new BucketEncryption(r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.GetInt64(2) != 0), ("$b", bucket)).FirstOrDefault());

    public Task SetBucketEncryptionAsync(string bucket, BucketEncryption? encryption, CancellationToken ct = default) => WriteAsync((c, tx) =>
        encryption is null
            ? Execute(c, tx, "DELETE FROM bucket_encryption WHERE bucket = $b", ("$b", bucket))
            : Execute(c, tx, "INSERT OR REPLACE INTO bucket_encryption(bucket, algorithm, key_id, bucket_key_enabled) VALUES ($b, $a, $k, $e)",
                ("$b", bucket), ("$a", encryption.Algorithm), ("$k", encryption.KeyId), ("$e", encryption.BucketKeyEnabled ? 1 : 0)));

    public Task<IReadOnlyList<ObjectTag>?> GetBucketTagsAsync(string bucket, CancellationToken ct = default) => ReadAsync(c =>
        Query(c, null, "SELECT tags FROM bucket_tagging WHERE bucket = $b", r => CatalogRules.DeserializeTags(r.GetString(0)), ("$b", bucket)).FirstOrDefault());

    public Task SetBucketTagsAsync(string bucket, IReadOnlyList<ObjectTag>? tags, CancellationToken ct = default) => WriteAsync((c, tx) =>
        tags is null
            ? Execute(c, tx, "DELETE FROM bucket_tagging WHERE bucket = $b", ("$b", bucket))
            : Execute(c, tx, "INSERT OR REPLACE INTO bucket_tagging(bucket, tags) VALUES ($b, $t)", ("$b", bucket), ("$t", CatalogRules.SerializeTags(tags))));

    // ---- objects ----

    public Task<bool> SetBucketVersioningAsync(string bucket, BucketVersioning state, CancellationToken ct = default) => WriteAsync((c, tx) =>
        Execute(c, tx, "UPDATE buckets SET versioning = $v WHERE name = $n", ("$n", bucket), ("$v", (int)state)) == 1);

    public Task<VersionEntry?> GetVersionAsync(string bucket, string name, string? versionId, CancellationToken ct = default) => ReadAsync(c =>
        Query(c, null, $"SELECT {Columns} FROM objects WHERE bucket = $b AND name = $n AND ($v IS NULL OR version_id = $v) ORDER BY seq LIMIT 1", ReadEntry,
            ("$b", bucket), ("$n", Encoding.UTF8.GetBytes(name)), ("$v", versionId)).FirstOrDefault());

    public Task CommitObjectAsync(ObjectRecord record, string? completedUploadId = null, WriteCondition? condition = null, CancellationToken ct = default,
        VersionLock? versionLock = null) => WriteAsync((c, tx) =>
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var nameBytes = Encoding.UTF8.GetBytes(record.Name);
        RequireBucket(c, tx, record.Bucket);
        var currentETag = (string?)Scalar(c, tx, "SELECT etag FROM objects WHERE bucket = $b AND name = $n AND is_latest = 1 AND delete_marker = 0",
            ("$b", record.Bucket), ("$n", nameBytes));
        if (condition?.Check(record.Bucket, record.Name, currentETag) is { } refused) throw refused;
        if (completedUploadId is not null)
        {
            var exists = Scalar(c, tx, "SELECT 1 FROM uploads WHERE upload_id = $u", ("$u", completedUploadId)) is not null;
            var uploadParts = exists ? ListUploadParts(c, tx, completedUploadId).Select(p => p.Part).ToList() : null;
            if (CatalogRules.CompletionRefused(completedUploadId, uploadParts, record.Parts) is { } stale) throw stale;
            // Parts uploaded but left out of the completed object are garbage too.
            foreach (var part in uploadParts!)
                if (record.Parts.All(p => p.Blob != part.Blob))
                    AddGarbage(c, tx, part.Blob, now);
            Execute(c, tx, "DELETE FROM upload_parts WHERE upload_id = $u", ("$u", completedUploadId));
            Execute(c, tx, "DELETE FROM uploads WHERE upload_id = $u", ("$u", completedUploadId));
        }
        AddLatestVersion(c, tx, record.Bucket, nameBytes, record.VersionId, record.Parts, now,
            ("$delete_marker", 0), ("$s", record.Size), ("$e", record.ETag),
            ("$m", record.Modified.ToUnixTimeMilliseconds()), ("$k", record.Key.KeyId), ("$kv", record.Key.KeyVersion),
            ("$w", record.Key.Wrapped), ("$meta", record.SealedMetadata), ("$p", CatalogRules.SerializeParts(record.Parts)), ("$sc", record.StorageClass));
        foreach (var p in record.Parts)
            Execute(c, tx, "DELETE FROM garbage WHERE blob = $g", ("$g", p.Blob));
        if (versionLock is not null) WriteLock(c, tx, record.Bucket, nameBytes, record.VersionId, versionLock);
        return true;
    });

    public Task CommitDeleteMarkerAsync(string bucket, string name, string versionId, DateTimeOffset modified, CancellationToken ct = default) => WriteAsync((c, tx) =>
    {
        RequireBucket(c, tx, bucket);
        AddLatestVersion(c, tx, bucket, Encoding.UTF8.GetBytes(name), versionId, [], _time.GetUtcNow().ToUnixTimeMilliseconds(),
            ("$delete_marker", 1), ("$s", 0), ("$e", ""), ("$m", modified.ToUnixTimeMilliseconds()), ("$k", ""), ("$kv", 0),
            ("$w", Array.Empty<byte>()), ("$meta", Array.Empty<byte>()), ("$p", "[]"), ("$sc", StorageClasses.Standard));
        return true;
    });

    public Task<VersionEntry?> DeleteVersionAsync(string bucket, string name, string versionId, CancellationToken ct = default, bool bypassGovernance = false) => WriteAsync((c, tx) =>
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var entry = Query(c, tx, $"SELECT {Columns} FROM objects WHERE bucket = $b AND name = $n AND version_id = $v", ReadEntry,
            ("$b", bucket), ("$n", nameBytes), ("$v", versionId)).FirstOrDefault();
        if (entry is null) return null;
        if (ReadLock(c, tx, bucket, nameBytes, versionId)?.DeleteRefusal(bucket, name, versionId, _time.GetUtcNow(), bypassGovernance) is { } locked) throw locked;
        Execute(c, tx, "DELETE FROM object_locks WHERE bucket = $b AND name = $n AND version_id = $v", ("$b", bucket), ("$n", nameBytes), ("$v", versionId));
        DeleteAcl(c, tx, bucket, nameBytes, versionId);
        if (entry.Record is { } record)
            foreach (var blob in CatalogRules.SupersededBlobs(record.Parts, []))
                AddGarbage(c, tx, blob, _time.GetUtcNow().ToUnixTimeMilliseconds());
        Execute(c, tx, "DELETE FROM objects WHERE bucket = $b AND name = $n AND version_id = $v", ("$b", bucket), ("$n", nameBytes), ("$v", versionId));
        if (entry.IsLatest)
            Execute(c, tx, "UPDATE objects SET is_latest = 1 WHERE bucket = $b AND name = $n AND seq = (SELECT MIN(seq) FROM objects WHERE bucket = $b AND name = $n)",
                ("$b", bucket), ("$n", nameBytes));
        return entry;
    });

    public Task<ListPage> ListObjectsAsync(string bucket, string prefix, string? delimiter, string? startAfter, int maxKeys, CancellationToken ct = default) =>
        ObjectListing.ListAsync((lower, inclusive, upper, limit, _) => ReadAsync<IReadOnlyList<ObjectRecord>>(c =>
            Query(c, null,
                // INDEXED BY: without statistics SQLite would take the primary key, whose range also holds every old
                // version and delete marker of the names it passes.
                $"SELECT {Columns} FROM objects INDEXED BY objects_current WHERE bucket = $b AND name {(inclusive ? ">=" : ">")} $lo AND name < $hi AND is_latest = 1 AND delete_marker = 0 ORDER BY name LIMIT $l",
                ReadObject, ("$b", bucket), ("$lo", lower), ("$hi", upper), ("$l", limit))), prefix, delimiter, startAfter, maxKeys, ct);

    public async Task<VersionPage> ListVersionsAsync(string bucket, string prefix, string? delimiter, string? keyMarker, string? versionIdMarker, int maxKeys, CancellationToken ct = default)
    {
        long? markerPosition = null;
        if (keyMarker is not null && versionIdMarker is not null)
            markerPosition = await ReadAsync(c => (long?)Scalar(c, null, "SELECT seq FROM objects WHERE bucket = $b AND name = $n AND version_id = $v",
                ("$b", bucket), ("$n", Encoding.UTF8.GetBytes(keyMarker)), ("$v", versionIdMarker))).ConfigureAwait(false)
                ?? throw CatalogRules.NoSuchVersionMarker(keyMarker, versionIdMarker);
        return await VersionListing.ListAsync((lower, after, inclusive, upper, limit, _) => ReadAsync<IReadOnlyList<(VersionEntry, long)>>(c =>
            Query(c, null,
                $"SELECT {Columns} FROM objects WHERE bucket = $b AND {(after is null ? $"name {(inclusive ? ">=" : ">")} $lo" : "(name, seq) > ($lo, $s)")} AND name < $hi ORDER BY name, seq LIMIT $l",
                r => (ReadEntry(r), r.GetInt64(13)), ("$b", bucket), ("$lo", lower), ("$s", after), ("$hi", upper), ("$l", limit))),
            prefix, delimiter, keyMarker, markerPosition, maxKeys, ct).ConfigureAwait(false);
    }

    public Task<IReadOnlyList<(string Bucket, string Name, int Version)>> ObjectsUnderKeyAsync(string keyId, int? version = null, CancellationToken ct = default) =>
        ReadAsync<IReadOnlyList<(string, string, int)>>(c => Query(c, null,
            "SELECT bucket, name, key_version FROM objects WHERE key_id = $k AND ($v IS NULL OR key_version = $v) ORDER BY bucket, name",
            r => (r.GetString(0), Encoding.UTF8.GetString((byte[])r[1]), r.GetInt32(2)), ("$k", keyId), ("$v", version)));

    public Task<IReadOnlyList<string>> KeysInUseAsync(CancellationToken ct = default) => ReadAsync<IReadOnlyList<string>>(c =>
        Query(c, null, "SELECT DISTINCT key_id FROM objects WHERE delete_marker = 0 ORDER BY key_id", r => r.GetString(0)));

    public Task<IReadOnlyDictionary<(string KeyId, int Version), long>> CountByKeyVersionAsync(CancellationToken ct = default) =>
        ReadAsync<IReadOnlyDictionary<(string, int), long>>(c =>
            Query(c, null, "SELECT key_id, key_version, COUNT(*) FROM objects WHERE delete_marker = 0 GROUP BY key_id, key_version",
                r => (Key: (r.GetString(0), r.GetInt32(1)), Count: r.GetInt64(2))).ToDictionary(x => x.Key, x => x.Count));

    public Task<IReadOnlyList<ObjectRecord>> ObjectsBelowVersionAsync(string keyId, int version, string? bucket, (string Bucket, string Name, string VersionId)? after, int limit, CancellationToken ct = default) =>
        ReadAsync<IReadOnlyList<ObjectRecord>>(c => Query(c, null,
            $"SELECT {Columns} FROM objects WHERE key_id = $k AND key_version < $v AND ($b IS NULL OR bucket = $b) " +
            "AND ($ab IS NULL OR (bucket, name, version_id) > ($ab, $an, $av)) ORDER BY bucket, name, version_id LIMIT $l",
            ReadObject, ("$k", keyId), ("$v", version), ("$b", bucket), ("$ab", after?.Bucket),
            ("$an", after is { } a ? Encoding.UTF8.GetBytes(a.Name) : null), ("$av", after?.VersionId), ("$l", limit)));

    public Task<long> CountBelowVersionAsync(string keyId, int version, string? bucket, CancellationToken ct = default) => ReadAsync(c =>
        Convert.ToInt64(Scalar(c, null, "SELECT COUNT(*) FROM objects WHERE key_id = $k AND key_version < $v AND ($b IS NULL OR bucket = $b)",
            ("$k", keyId), ("$v", version), ("$b", bucket))));

    public Task<bool> ReplaceWrappedKeyAsync(string bucket, string name, WrappedKeyRef expected, WrappedKeyRef replacement, CancellationToken ct = default) => WriteAsync((c, tx) =>
        Execute(c, tx, "UPDATE objects SET key_version = $nv, wrapped_key = $nw WHERE bucket = $b AND name = $n AND key_id = $k AND key_version = $ov AND wrapped_key = $ow",
            ("$nv", replacement.KeyVersion), ("$nw", replacement.Wrapped), ("$b", bucket), ("$n", Encoding.UTF8.GetBytes(name)),
            ("$k", expected.KeyId), ("$ov", expected.KeyVersion), ("$ow", expected.Wrapped)) == 1);

    public Task<bool> ReplaceSealedMetadataAsync(string bucket, string name, string versionId, byte[] expected, byte[] replacement, CancellationToken ct = default) => WriteAsync((c, tx) =>
        Execute(c, tx, "UPDATE objects SET metadata = $new WHERE bucket = $b AND name = $n AND version_id = $v AND delete_marker = 0 AND metadata = $old",
            ("$new", replacement), ("$b", bucket), ("$n", Encoding.UTF8.GetBytes(name)), ("$v", versionId), ("$old", expected)) == 1);

    // ---- multipart uploads ----

    public Task CreateUploadAsync(UploadRecord upload, CancellationToken ct = default) => WriteAsync((c, tx) =>
    {
        if (Scalar(c, tx, "SELECT 1 FROM buckets WHERE name = $b", ("$b", upload.Bucket)) is null)
            throw CatalogRules.NoSuchBucket(upload.Bucket);
        return Execute(c, tx, """
            INSERT INTO uploads(upload_id, bucket, name, created, key_id, key_version, wrapped_key, metadata, storage_class)
            VALUES ($u, $b, $n, $t, $k, $v, $w, $m, $sc)
            """,
            ("$u", upload.UploadId), ("$b", upload.Bucket), ("$n", Encoding.UTF8.GetBytes(upload.Name)),
            ("$t", upload.Created.ToUnixTimeMilliseconds()), ("$k", upload.Key.KeyId), ("$v", upload.Key.KeyVersion),
            ("$w", upload.Key.Wrapped), ("$m", upload.SealedMetadata), ("$sc", upload.StorageClass));
    });

    public Task<UploadRecord?> GetUploadAsync(string uploadId, CancellationToken ct = default) => ReadAsync(c =>
        Query(c, null, $"SELECT {UploadColumns} FROM uploads WHERE upload_id = $u", ReadUpload, ("$u", uploadId)).FirstOrDefault());

    public Task<IReadOnlyList<UploadRecord>> ListUploadsAsync(string bucket, string prefix, CancellationToken ct = default) => ReadAsync<IReadOnlyList<UploadRecord>>(c =>
    {
        var p = Encoding.UTF8.GetBytes(prefix);
        return Query(c, null, $"SELECT {UploadColumns} FROM uploads WHERE bucket = $b AND name >= $lo AND name < $hi ORDER BY name, created, upload_id",
            ReadUpload, ("$b", bucket), ("$lo", p), ("$hi", ObjectListing.Upper(p)));
    });

    public Task<bool> PutUploadPartAsync(string uploadId, StoredPart part, DateTimeOffset modified, CancellationToken ct = default) => WriteAsync((c, tx) =>
    {
        if (Scalar(c, tx, "SELECT 1 FROM uploads WHERE upload_id = $u", ("$u", uploadId)) is null) return false;
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (Scalar(c, tx, "SELECT part FROM upload_parts WHERE upload_id = $u AND number = $n", ("$u", uploadId), ("$n", part.Number)) is string json)
            AddGarbage(c, tx, CatalogRules.DeserializePart(json).Blob, now);
        Execute(c, tx, "INSERT OR REPLACE INTO upload_parts(upload_id, number, part, modified) VALUES ($u, $n, $p, $m)",
            ("$u", uploadId), ("$n", part.Number), ("$p", CatalogRules.SerializePart(part)), ("$m", modified.ToUnixTimeMilliseconds()));
        Execute(c, tx, "DELETE FROM garbage WHERE blob = $g", ("$g", part.Blob));
        return true;
    });

    public Task<IReadOnlyList<UploadPartRecord>> ListUploadPartsAsync(string uploadId, CancellationToken ct = default) =>
        ReadAsync<IReadOnlyList<UploadPartRecord>>(c => ListUploadParts(c, null, uploadId));

    public Task<bool> AbortUploadAsync(string uploadId, CancellationToken ct = default) => WriteAsync((c, tx) =>
    {
        if (Scalar(c, tx, "SELECT 1 FROM uploads WHERE upload_id = $u", ("$u", uploadId)) is null) return false;
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var p in ListUploadParts(c, tx, uploadId)) AddGarbage(c, tx, p.Part.Blob, now);
        Execute(c, tx, "DELETE FROM upload_parts WHERE upload_id = $u", ("$u", uploadId));
        Execute(c, tx, "DELETE FROM uploads WHERE upload_id = $u", ("$u", uploadId));
        return true;
    });

    // ---- garbage ----

    public Task RecordPendingBlobAsync(string blob, CancellationToken ct = default) => WriteAsync((c, tx) =>
    {
        AddGarbage(c, tx, blob, _time.GetUtcNow().Add(CatalogRules.PendingBlobLifetime).ToUnixTimeMilliseconds());
        return true;
    });

    public Task AbandonPendingBlobAsync(string blob, CancellationToken ct = default) => WriteAsync((c, tx) =>
        Execute(c, tx, "UPDATE garbage SET since = $t WHERE blob = $g", ("$g", blob), ("$t", _time.GetUtcNow().ToUnixTimeMilliseconds())));

    public Task<IReadOnlyList<string>> GarbageOlderThanAsync(DateTimeOffset olderThan, CancellationToken ct = default) => ReadAsync<IReadOnlyList<string>>(c =>
        Query(c, null, "SELECT blob FROM garbage WHERE since < $t", r => r.GetString(0), ("$t", olderThan.ToUnixTimeMilliseconds())));

    public Task ForgetGarbageAsync(string blob, CancellationToken ct = default) => WriteAsync((c, tx) =>
        Execute(c, tx, "DELETE FROM garbage WHERE blob = $g", ("$g", blob)));

    // ---- plumbing ----

    private const string Columns = "bucket, name, size, etag, modified, key_id, key_version, wrapped_key, metadata, parts, version_id, is_latest, delete_marker, seq, storage_class";
    private const string UploadColumns = "upload_id, bucket, name, created, key_id, key_version, wrapped_key, metadata, storage_class";

    /// <summary>A pooled connection for reads. The pragma of <see cref="OpenForWrite"/> only matters to commits,
    /// and running it on every read cost a third of a small read's CPU.</summary>
    private SqliteConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        return c;
    }

    /// <summary>A pooled connection that commits durably: set on every open, since a pooled handle may be new.</summary>
    private SqliteConnection OpenForWrite()
    {
        var c = Open();
        Execute(c, null, "PRAGMA synchronous = FULL;");
        return c;
    }

    /// <summary>SQLite reads a local file without asynchronous I/O: a read runs on the caller's thread and its task
    /// is complete when returned.</summary>
    private Task<T> ReadAsync<T>(Func<SqliteConnection, T> read)
    {
        try
        {
            using var c = Open();
            return Task.FromResult(read(c));
        }
        catch (SqliteException e)
        {
            return Task.FromException<T>(Unavailable(e));
        }
    }

    private async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, T> work) =>
        (T)(await _writes.SubmitAsync((c, tx) => work(c, tx)).ConfigureAwait(false))!;

    /// <summary>One transaction for the batch, each write under its own savepoint, one commit (one fsync) for all.
    /// SQLite has no asynchronous I/O: the batch runs on the catalog's writer thread, not on a thread-pool thread.</summary>
    private Task CommitBatchAsync(GroupCommitBatch<Write, object?> batch, CancellationToken ct) => _writer.RunAsync(() => CommitBatch(batch));

    private bool CommitBatch(GroupCommitBatch<Write, object?> batch)
    {
        using var c = OpenForWrite();
        using var tx = c.BeginTransaction(deferred: false);
        for (var i = 0; i < batch.Count; i++)
        {
            Execute(c, tx, "SAVEPOINT w");
            try
            {
                batch.Succeed(i, batch[i](c, tx));
                Execute(c, tx, "RELEASE w");
            }
            catch (Exception e)
            {
                batch.Fail(i, e is SqliteException s ? Unavailable(s) : e);
                Execute(c, tx, "ROLLBACK TO w");
                Execute(c, tx, "RELEASE w");
            }
        }
        // Microsoft.Data.Sqlite has no asynchronous I/O (its CommitAsync runs synchronously too): this is the writer thread.
#pragma warning disable VSTHRD103
        tx.Commit();
#pragma warning restore VSTHRD103
        return true;
    }

    private static ObjectStoreException Unavailable(SqliteException e) =>
        new(ObjectError.CatalogUnavailable, "The object catalog (SQLite) could not be read or written; nothing was changed. Retry; the server's log has the cause.", e);

    private static BucketRecord ReadBucket(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2))) { Versioning = (BucketVersioning)r.GetInt32(3) };

    private static ObjectRecord ReadObject(SqliteDataReader r) => new(
        r.GetString(0), Encoding.UTF8.GetString((byte[])r[1]), r.GetInt64(2), r.GetString(3),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)),
        new WrappedKeyRef(r.GetString(5), r.GetInt32(6), (byte[])r[7]),
        (byte[])r[8], CatalogRules.DeserializeParts(r.GetString(9))) { VersionId = r.GetString(10), StorageClass = r.GetString(14) };

    private static VersionEntry ReadEntry(SqliteDataReader r) => new(
        r.GetString(0), Encoding.UTF8.GetString((byte[])r[1]), r.GetString(10), r.GetInt64(11) == 1,
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)), r.GetInt64(12) == 1 ? null : ReadObject(r));

    private static void RequireBucket(SqliteConnection c, SqliteTransaction tx, string bucket)
    {
        if (Scalar(c, tx, "SELECT 1 FROM buckets WHERE name = $b", ("$b", bucket)) is null)
            throw CatalogRules.NoSuchBucket(bucket);
    }

    /// <summary>
    /// Adds a version above all of its name's versions and makes it the latest. A null version first replaces the
    /// name's null version: the blobs <paramref name="parts"/> does not reuse become garbage.
    /// </summary>
    private static void AddLatestVersion(SqliteConnection c, SqliteTransaction tx, string bucket, byte[] name, string versionId, IReadOnlyList<StoredPart> parts, long now,
        params (string, object?)[] values)
    {
        (string, object?)[] key = [("$b", bucket), ("$n", name)];
        if (versionId == VersionIds.Null)
        {
            var old = Query(c, tx, "SELECT parts, delete_marker FROM objects WHERE bucket = $b AND name = $n AND version_id = 'null'",
                r => (Parts: r.GetString(0), Marker: r.GetInt64(1) == 1), key).FirstOrDefault();
            if (old.Parts is not null && !old.Marker)
                foreach (var blob in CatalogRules.SupersededBlobs(CatalogRules.DeserializeParts(old.Parts), parts))
                    AddGarbage(c, tx, blob, now);
            Execute(c, tx, "DELETE FROM objects WHERE bucket = $b AND name = $n AND version_id = 'null'", key);
            DeleteAcl(c, tx, bucket, name, VersionIds.Null); // a new null version does not inherit the replaced one's ACL
        }
        Execute(c, tx, "UPDATE objects SET is_latest = 0 WHERE bucket = $b AND name = $n AND is_latest = 1", key);
        Execute(c, tx, """
            INSERT INTO objects(bucket, name, seq, version_id, is_latest, delete_marker, size, etag, modified, key_id, key_version, wrapped_key, metadata, parts, storage_class)
            VALUES ($b, $n, (SELECT COALESCE(MIN(seq), 0) - 1 FROM objects WHERE bucket = $b AND name = $n), $version, 1, $delete_marker, $s, $e, $m, $k, $kv, $w, $meta, $p, $sc)
            """, [.. key, ("$version", versionId), .. values]);
    }

    private static UploadRecord ReadUpload(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), Encoding.UTF8.GetString((byte[])r[2]),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3)),
        new WrappedKeyRef(r.GetString(4), r.GetInt32(5), (byte[])r[6]), (byte[])r[7]) { StorageClass = r.GetString(8) };

    private static List<UploadPartRecord> ListUploadParts(SqliteConnection c, SqliteTransaction? tx, string uploadId) =>
        Query(c, tx, "SELECT part, modified FROM upload_parts WHERE upload_id = $u ORDER BY number",
            r => new UploadPartRecord(CatalogRules.DeserializePart(r.GetString(0)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1))), ("$u", uploadId));

    private static void AddGarbage(SqliteConnection c, SqliteTransaction tx, string blob, long now) =>
        Execute(c, tx, "INSERT OR IGNORE INTO garbage(blob, since) VALUES ($g, $t)", ("$g", blob), ("$t", now));

    /// <summary>Adds a column added after schema version 2 (no version of its own: several land independently), once.</summary>
    private static void AddColumnIfMissing(SqliteConnection c, string table, string column, string definition)
    {
        if (Scalar(c, null, $"SELECT 1 FROM pragma_table_info('{table}') WHERE name = $c", ("$c", column)) is null)
            Execute(c, null, $"ALTER TABLE {table} ADD COLUMN {column} {definition}");
    }

    private static SqliteCommand Command(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (name, value) in args) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    private static int Execute(SqliteConnection c, SqliteTransaction? tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        return cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection c, SqliteTransaction? tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        return cmd.ExecuteScalar();
    }

    private static List<T> Query<T>(SqliteConnection c, SqliteTransaction? tx, string sql, Func<SqliteDataReader, T> row, params (string, object?)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        using var r = cmd.ExecuteReader();
        var list = new List<T>();
        while (r.Read()) list.Add(row(r));
        return list;
    }
}
