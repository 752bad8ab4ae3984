using System.Text;
using System.Text.Json;
using Coffre.Objects.Keys;
using Microsoft.Data.Sqlite;

namespace Coffre.Objects.Catalog;

/// <summary>
/// The object catalog: Coffre's own record of every bucket, object and multipart upload, in SQLite
/// beside the key store. It answers HEAD and listings without touching the provider, says which
/// objects a key version protects, and holds each stream's header so a provider cannot serve an
/// older or another object's ciphertext. Object names are stored as UTF-8 BLOBs so that SQLite's
/// memcmp ordering is S3's listing order.
/// </summary>
public sealed class ObjectCatalog
{
    private const int SchemaVersion = 1;
    private readonly string _connectionString;
    private readonly GroupCommit _writes;
    private readonly TimeProvider _time;

    /// <param name="time">The clock that dates garbage (the object store's clock, so the grace period is measured on one clock).</param>
    public ObjectCatalog(string databasePath, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        _writes = new GroupCommit(OpenForWrite);
        using var c = OpenForWrite();
        var version = Scalar<long>(c, "PRAGMA user_version");
        if (version == 0)
        {
            Execute(c, """
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
                -- Blobs written but not (yet) referenced, and blobs no longer referenced: collected by
                -- CollectGarbage. A crash between writing a blob and committing its record leaves a row here.
                CREATE TABLE IF NOT EXISTS garbage(blob TEXT PRIMARY KEY, since INTEGER NOT NULL) WITHOUT ROWID;
                PRAGMA user_version = 1;
                """);
        }
        else if (version != SchemaVersion)
        {
            throw new InvalidOperationException($"The catalog {databasePath} has schema version {version}; this Coffre understands {SchemaVersion}.");
        }
    }

    /// <summary>A pooled connection for reads. The pragmas of <see cref="OpenForWrite"/> only matter to commits,
    /// and running them on every read cost a third of a small read's CPU.</summary>
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
        Execute(c, "PRAGMA synchronous = FULL;");
        return c;
    }

    // ---- buckets ----

    public bool TryCreateBucket(BucketRecord bucket) => _writes.Run((c, tx) =>
        Run(c, tx, "INSERT OR IGNORE INTO buckets(name, key_id, created) VALUES ($n, $k, $t)",
            ("$n", bucket.Name), ("$k", bucket.KeyId), ("$t", bucket.Created.ToUnixTimeMilliseconds())) == 1);

    public BucketRecord? GetBucket(string name)
    {
        using var c = Open();
        using var cmd = Command(c, "SELECT name, key_id, created FROM buckets WHERE name = $n", ("$n", name));
        using var r = cmd.ExecuteReader();
        return r.Read() ? new BucketRecord(r.GetString(0), r.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2))) : null;
    }

    public IReadOnlyList<BucketRecord> ListBuckets()
    {
        using var c = Open();
        using var cmd = Command(c, "SELECT name, key_id, created FROM buckets ORDER BY name");
        using var r = cmd.ExecuteReader();
        var list = new List<BucketRecord>();
        while (r.Read()) list.Add(new BucketRecord(r.GetString(0), r.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2))));
        return list;
    }

    /// <summary>Deletes an empty bucket; false when it still holds objects or uploads.</summary>
    public bool TryDeleteEmptyBucket(string name) => _writes.Run((c, tx) =>
    {
        var used = Scalar<long>(c, "SELECT EXISTS(SELECT 1 FROM objects WHERE bucket = $n) OR EXISTS(SELECT 1 FROM uploads WHERE bucket = $n)", tx, ("$n", name));
        if (used != 0) return false;
        Run(c, tx, "DELETE FROM buckets WHERE name = $n", ("$n", name));
        return true;
    });

    // ---- objects ----

    public ObjectRecord? GetObject(string bucket, string name)
    {
        using var c = Open();
        using var cmd = Command(c, $"SELECT {ObjectColumns} FROM objects WHERE bucket = $b AND name = $n",
            ("$b", bucket), ("$n", Encoding.UTF8.GetBytes(name)));
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadObject(r) : null;
    }

    /// <summary>
    /// Makes <paramref name="record"/> the current version of its object, atomically. The blobs of
    /// the version it replaces (parts and sidecar) move to the garbage list in the same transaction,
    /// and the new blobs leave it: after a crash, every object is wholly old or wholly new.
    /// </summary>
    /// <param name="precondition">Given the current version's ETag (null: none), an error to refuse the commit with, checked in the same transaction.</param>
    public void CommitObject(ObjectRecord record, string? completedUploadId = null, Func<string?, Exception?>? precondition = null) => _writes.Run((c, tx) =>
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var nameBytes = Encoding.UTF8.GetBytes(record.Name);
        using (var old = Command(c, "SELECT parts, etag FROM objects WHERE bucket = $b AND name = $n", ("$b", record.Bucket), ("$n", nameBytes)))
        {
            old.Transaction = tx;
            string? oldParts = null, oldETag = null;
            using (var r = old.ExecuteReader())
                if (r.Read()) (oldParts, oldETag) = (r.GetString(0), r.GetString(1));
            if (precondition?.Invoke(oldETag) is { } refused) throw refused;
            if (oldParts is not null) AddObjectGarbage(c, tx, DeserializeParts(oldParts), record.Parts, now);
        }
        if (completedUploadId is not null)
        {
            // Parts uploaded but left out of the completed object are garbage too.
            foreach (var part in ListUploadParts(c, tx, completedUploadId))
                if (record.Parts.All(p => p.Blob != part.Part.Blob))
                    AddGarbage(c, tx, part.Part.Blob, now);
            Run(c, tx, "DELETE FROM upload_parts WHERE upload_id = $u", ("$u", completedUploadId));
            Run(c, tx, "DELETE FROM uploads WHERE upload_id = $u", ("$u", completedUploadId));
        }
        Run(c, tx, """
            INSERT OR REPLACE INTO objects(bucket, name, size, etag, modified, key_id, key_version, wrapped_key, metadata, parts)
            VALUES ($b, $n, $s, $e, $m, $k, $v, $w, $meta, $p)
            """,
            ("$b", record.Bucket), ("$n", nameBytes), ("$s", record.Size), ("$e", record.ETag),
            ("$m", record.Modified.ToUnixTimeMilliseconds()), ("$k", record.Key.KeyId), ("$v", record.Key.KeyVersion),
            ("$w", record.Key.Wrapped), ("$meta", record.SealedMetadata), ("$p", SerializeParts(record.Parts)));
        foreach (var p in record.Parts)
            Run(c, tx, "DELETE FROM garbage WHERE blob = $g", ("$g", p.Blob));
        return true;
    });

    /// <summary>Removes an object record; its blobs (parts and sidecar) become garbage. False when there was none.</summary>
    public bool DeleteObject(string bucket, string name) => _writes.Run((c, tx) =>
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        using var get = Command(c, "SELECT parts FROM objects WHERE bucket = $b AND name = $n", ("$b", bucket), ("$n", nameBytes));
        get.Transaction = tx;
        if (get.ExecuteScalar() is not string parts) return false;
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        AddObjectGarbage(c, tx, DeserializeParts(parts), [], now);
        Run(c, tx, "DELETE FROM objects WHERE bucket = $b AND name = $n", ("$b", bucket), ("$n", nameBytes));
        return true;
    });

    /// <summary>
    /// Lists objects in S3 order. Keys after <paramref name="startAfter"/> (exclusive) that begin with
    /// <paramref name="prefix"/>; with a delimiter, keys sharing the text up to the first delimiter
    /// after the prefix are rolled up into one common prefix, which counts as one entry.
    /// </summary>
    public ListPage ListObjects(string bucket, string prefix, string? delimiter, string? startAfter, int maxKeys)
    {
        var entries = new List<ListEntry>();
        if (maxKeys <= 0) return new ListPage(entries, false, null);
        var prefixBytes = Encoding.UTF8.GetBytes(prefix);
        var upper = Upper(prefixBytes);
        byte[] lower = prefixBytes;
        var lowerInclusive = true;
        // Compared as UTF-8 bytes, the listing order (UTF-16 ordinal order differs above U+D7FF).
        if (startAfter is not null && Encoding.UTF8.GetBytes(startAfter).AsSpan().SequenceCompareTo(prefixBytes) >= 0)
        {
            lower = Encoding.UTF8.GetBytes(startAfter);
            lowerInclusive = false;
            // A marker inside a rolled-up prefix means that prefix was already returned: skip it whole.
            if (!string.IsNullOrEmpty(delimiter) && startAfter.StartsWith(prefix, StringComparison.Ordinal))
            {
                var i = startAfter.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal);
                if (i >= 0) lower = Upper(Encoding.UTF8.GetBytes(startAfter[..(i + delimiter.Length)]));
            }
        }

        using var c = Open();
        string? last = null;
        while (true)
        {
            using var cmd = Command(c,
                $"SELECT {ObjectColumns} FROM objects WHERE bucket = $b AND name {(lowerInclusive ? ">=" : ">")} $lo AND name < $hi ORDER BY name LIMIT 256",
                ("$b", bucket), ("$lo", lower), ("$hi", upper));
            using var r = cmd.ExecuteReader();
            var any = false;
            var skipped = false;
            while (r.Read())
            {
                any = true;
                var record = ReadObject(r);
                if (entries.Count == maxKeys)
                    return new ListPage(entries, true, last);
                var cut = string.IsNullOrEmpty(delimiter) ? -1 : record.Name.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal);
                if (cut >= 0)
                {
                    var common = record.Name[..(cut + delimiter!.Length)];
                    entries.Add(new ListEntry(null, common));
                    last = common;
                    lower = Upper(Encoding.UTF8.GetBytes(common));
                    lowerInclusive = true;
                    skipped = true;
                    break;
                }
                entries.Add(new ListEntry(record, null));
                last = record.Name;
                lower = Encoding.UTF8.GetBytes(record.Name);
                lowerInclusive = false;
            }
            if (!any) return new ListPage(entries, false, null);
            if (!skipped && entries.Count == maxKeys)
            {
                // Full page: truncated only if another key follows.
                var more = Scalar<long>(c, $"SELECT EXISTS(SELECT 1 FROM objects WHERE bucket = $b AND name > $lo AND name < $hi)",
                    null, ("$b", bucket), ("$lo", lower), ("$hi", upper));
                return new ListPage(entries, more != 0, more != 0 ? last : null);
            }
        }
    }

    /// <summary>How many objects each version of a key protects (for reports and destruction impact).</summary>
    public IReadOnlyList<(string Bucket, string Name, int Version)> ObjectsUnderKey(string keyId, int? version = null)
    {
        using var c = Open();
        using var cmd = Command(c,
            "SELECT bucket, name, key_version FROM objects WHERE key_id = $k AND ($v IS NULL OR key_version = $v) ORDER BY bucket, name",
            ("$k", keyId), ("$v", (object?)version ?? DBNull.Value));
        using var r = cmd.ExecuteReader();
        var list = new List<(string, string, int)>();
        while (r.Read()) list.Add((r.GetString(0), Encoding.UTF8.GetString((byte[])r[1]), r.GetInt32(2)));
        return list;
    }

    /// <summary>Key ids that protect at least one object.</summary>
    public IReadOnlyList<string> KeysInUse()
    {
        using var c = Open();
        using var cmd = Command(c, "SELECT DISTINCT key_id FROM objects ORDER BY key_id");
        using var r = cmd.ExecuteReader();
        var list = new List<string>();
        while (r.Read()) list.Add(r.GetString(0));
        return list;
    }

    /// <summary>Objects per (key id, version), for reports.</summary>
    public IReadOnlyDictionary<(string KeyId, int Version), long> CountByKeyVersion()
    {
        using var c = Open();
        using var cmd = Command(c, "SELECT key_id, key_version, COUNT(*) FROM objects GROUP BY key_id, key_version");
        using var r = cmd.ExecuteReader();
        var counts = new Dictionary<(string, int), long>();
        while (r.Read()) counts[(r.GetString(0), r.GetInt32(1))] = r.GetInt64(2);
        return counts;
    }

    /// <summary>Objects of a key wrapped under a version older than <paramref name="version"/>, in (bucket, name) order after <paramref name="after"/>.</summary>
    public IReadOnlyList<ObjectRecord> ObjectsBelowVersion(string keyId, int version, string? bucket, (string Bucket, string Name)? after, int limit)
    {
        using var c = Open();
        using var cmd = Command(c,
            $"SELECT {ObjectColumns} FROM objects WHERE key_id = $k AND key_version < $v AND ($b IS NULL OR bucket = $b) " +
            "AND ($ab IS NULL OR (bucket, name) > ($ab, $an)) ORDER BY bucket, name LIMIT $l",
            ("$k", keyId), ("$v", version), ("$b", bucket), ("$ab", after?.Bucket),
            ("$an", after is { } a ? Encoding.UTF8.GetBytes(a.Name) : null), ("$l", limit));
        using var r = cmd.ExecuteReader();
        var list = new List<ObjectRecord>();
        while (r.Read()) list.Add(ReadObject(r));
        return list;
    }

    public long CountBelowVersion(string keyId, int version, string? bucket)
    {
        using var c = Open();
        return Scalar<long>(c, "SELECT COUNT(*) FROM objects WHERE key_id = $k AND key_version < $v AND ($b IS NULL OR bucket = $b)",
            null, ("$k", keyId), ("$v", version), ("$b", bucket));
    }

    /// <summary>
    /// Replaces an object's wrapped data key, only if the object still holds <paramref name="expected"/>:
    /// an object overwritten or deleted meanwhile is left alone (it has a data key of its own). False then.
    /// </summary>
    public bool ReplaceWrappedKey(string bucket, string name, Keys.WrappedKeyRef expected, Keys.WrappedKeyRef replacement) => _writes.Run((c, tx) =>
        Run(c, tx, "UPDATE objects SET key_version = $nv, wrapped_key = $nw WHERE bucket = $b AND name = $n AND key_id = $k AND key_version = $ov AND wrapped_key = $ow",
            ("$nv", replacement.KeyVersion), ("$nw", replacement.Wrapped), ("$b", bucket), ("$n", Encoding.UTF8.GetBytes(name)),
            ("$k", expected.KeyId), ("$ov", expected.KeyVersion), ("$ow", expected.Wrapped)) == 1);

    // ---- multipart uploads ----

    public void CreateUpload(UploadRecord upload) => _writes.Run((c, tx) =>
        Run(c, tx, """
            INSERT INTO uploads(upload_id, bucket, name, created, key_id, key_version, wrapped_key, metadata)
            VALUES ($u, $b, $n, $t, $k, $v, $w, $m)
            """,
            ("$u", upload.UploadId), ("$b", upload.Bucket), ("$n", Encoding.UTF8.GetBytes(upload.Name)),
            ("$t", upload.Created.ToUnixTimeMilliseconds()), ("$k", upload.Key.KeyId), ("$v", upload.Key.KeyVersion),
            ("$w", upload.Key.Wrapped), ("$m", upload.SealedMetadata)));

    public UploadRecord? GetUpload(string uploadId)
    {
        using var c = Open();
        using var cmd = Command(c, $"SELECT {UploadColumns} FROM uploads WHERE upload_id = $u", ("$u", uploadId));
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadUpload(r) : null;
    }

    public IReadOnlyList<UploadRecord> ListUploads(string bucket, string prefix)
    {
        using var c = Open();
        var p = Encoding.UTF8.GetBytes(prefix);
        using var cmd = Command(c, $"SELECT {UploadColumns} FROM uploads WHERE bucket = $b AND name >= $lo AND name < $hi ORDER BY name, created, upload_id",
            ("$b", bucket), ("$lo", p), ("$hi", Upper(p)));
        using var r = cmd.ExecuteReader();
        var list = new List<UploadRecord>();
        while (r.Read()) list.Add(ReadUpload(r));
        return list;
    }

    /// <summary>Records a part; a part uploaded again under the same number replaces the earlier one, whose blob becomes garbage.</summary>
    public bool PutUploadPart(string uploadId, StoredPart part, DateTimeOffset modified) => _writes.Run((c, tx) =>
    {
        if (Scalar<long>(c, "SELECT COUNT(*) FROM uploads WHERE upload_id = $u", tx, ("$u", uploadId)) == 0) return false;
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        using (var old = Command(c, "SELECT part FROM upload_parts WHERE upload_id = $u AND number = $n", ("$u", uploadId), ("$n", part.Number)))
        {
            old.Transaction = tx;
            if (old.ExecuteScalar() is string json) AddGarbage(c, tx, DeserializePart(json).Blob, now);
        }
        Run(c, tx, "INSERT OR REPLACE INTO upload_parts(upload_id, number, part, modified) VALUES ($u, $n, $p, $m)",
            ("$u", uploadId), ("$n", part.Number), ("$p", JsonSerializer.Serialize(part)), ("$m", modified.ToUnixTimeMilliseconds()));
        Run(c, tx, "DELETE FROM garbage WHERE blob = $g", ("$g", part.Blob));
        return true;
    });

    public IReadOnlyList<UploadPartRecord> ListUploadParts(string uploadId)
    {
        using var c = Open();
        return ListUploadParts(c, null, uploadId);
    }

    /// <summary>Forgets an upload; its parts' blobs become garbage. False when there was none.</summary>
    public bool AbortUpload(string uploadId) => _writes.Run((c, tx) =>
    {
        if (Scalar<long>(c, "SELECT COUNT(*) FROM uploads WHERE upload_id = $u", tx, ("$u", uploadId)) == 0) return false;
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var p in ListUploadParts(c, tx, uploadId)) AddGarbage(c, tx, p.Part.Blob, now);
        Run(c, tx, "DELETE FROM upload_parts WHERE upload_id = $u", ("$u", uploadId));
        Run(c, tx, "DELETE FROM uploads WHERE upload_id = $u", ("$u", uploadId));
        return true;
    });

    // ---- garbage ----

    /// <summary>Called before a blob is written: if the process dies before the blob is referenced, it is collected later.</summary>
    public void RecordPendingBlob(string blob) => _writes.Run((c, tx) =>
    {
        // Dated a day ahead: an upload in progress must outlive the garbage grace period.
        AddGarbage(c, tx, blob, _time.GetUtcNow().AddDays(1).ToUnixTimeMilliseconds());
        return true;
    });

    /// <summary>
    /// A write that failed (refused digest, failed precondition, broken body) will never reference its blob:
    /// date it now, so it is collected after the grace period rather than the day a write in flight gets.
    /// </summary>
    public void AbandonPendingBlob(string blob) => _writes.Run((c, tx) =>
        Run(c, tx, "UPDATE garbage SET since = $t WHERE blob = $g", ("$g", blob), ("$t", _time.GetUtcNow().ToUnixTimeMilliseconds())));

    /// <summary>Garbage blobs older than <paramref name="olderThan"/> (young ones may belong to a write still in flight).</summary>
    public IReadOnlyList<string> GarbageOlderThan(DateTimeOffset olderThan)
    {
        using var c = Open();
        using var cmd = Command(c, "SELECT blob FROM garbage WHERE since < $t", ("$t", olderThan.ToUnixTimeMilliseconds()));
        using var r = cmd.ExecuteReader();
        var list = new List<string>();
        while (r.Read()) list.Add(r.GetString(0));
        return list;
    }

    public void ForgetGarbage(string blob) => _writes.Run((c, tx) => Run(c, tx, "DELETE FROM garbage WHERE blob = $g", ("$g", blob)));

    // ---- plumbing ----

    private const string ObjectColumns = "bucket, name, size, etag, modified, key_id, key_version, wrapped_key, metadata, parts";
    private const string UploadColumns = "upload_id, bucket, name, created, key_id, key_version, wrapped_key, metadata";

    private static ObjectRecord ReadObject(SqliteDataReader r) => new(
        r.GetString(0), Encoding.UTF8.GetString((byte[])r[1]), r.GetInt64(2), r.GetString(3),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)),
        new WrappedKeyRef(r.GetString(5), r.GetInt32(6), (byte[])r[7]),
        (byte[])r[8], DeserializeParts(r.GetString(9)));

    private static UploadRecord ReadUpload(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), Encoding.UTF8.GetString((byte[])r[2]),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3)),
        new WrappedKeyRef(r.GetString(4), r.GetInt32(5), (byte[])r[6]), (byte[])r[7]);

    private static List<UploadPartRecord> ListUploadParts(SqliteConnection c, SqliteTransaction? tx, string uploadId)
    {
        using var cmd = Command(c, "SELECT part, modified FROM upload_parts WHERE upload_id = $u ORDER BY number", ("$u", uploadId));
        cmd.Transaction = tx;
        using var r = cmd.ExecuteReader();
        var list = new List<UploadPartRecord>();
        while (r.Read()) list.Add(new UploadPartRecord(DeserializePart(r.GetString(0)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1))));
        return list;
    }

    private static string SerializeParts(IReadOnlyList<StoredPart> parts) => JsonSerializer.Serialize(parts);
    private static IReadOnlyList<StoredPart> DeserializeParts(string json) => JsonSerializer.Deserialize<List<StoredPart>>(json)!;
    private static StoredPart DeserializePart(string json) => JsonSerializer.Deserialize<StoredPart>(json)!;

    /// <summary>
    /// The blobs of an object version that <paramref name="successor"/> does not reuse become garbage, and so
    /// does its sidecar (docs/format.md §5) unless the successor keeps the same first part. The sidecar is added
    /// whether or not a rewrap ever wrote it: deleting a missing blob is not an error.
    /// </summary>
    private static void AddObjectGarbage(SqliteConnection c, SqliteTransaction tx, IReadOnlyList<StoredPart> parts, IReadOnlyList<StoredPart> successor, long now)
    {
        foreach (var p in parts)
            if (successor.All(n => n.Blob != p.Blob))
                AddGarbage(c, tx, p.Blob, now);
        if (successor.Count == 0 || successor[0].Blob != parts[0].Blob)
            AddGarbage(c, tx, BlobMetadata.SidecarKey(parts[0].Blob), now);
    }

    private static void AddGarbage(SqliteConnection c, SqliteTransaction tx, string blob, long now) =>
        Run(c, tx, "INSERT OR IGNORE INTO garbage(blob, since) VALUES ($g, $t)", ("$g", blob), ("$t", now));

    /// <summary>The smallest byte string greater than every string that starts with <paramref name="prefix"/> (0xFF never occurs in UTF-8).</summary>
    private static byte[] Upper(byte[] prefix)
    {
        var upper = new byte[prefix.Length + 1];
        prefix.CopyTo(upper, 0);
        upper[^1] = 0xFF;
        return upper;
    }

    private static SqliteCommand Command(SqliteConnection c, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in args) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    private static int Run(SqliteConnection c, SqliteTransaction tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Command(c, sql, args);
        cmd.Transaction = tx;
        return cmd.ExecuteNonQuery();
    }

    private static void Execute(SqliteConnection c, string sql)
    {
        using var cmd = Command(c, sql);
        cmd.ExecuteNonQuery();
    }

    private static T Scalar<T>(SqliteConnection c, string sql, SqliteTransaction? tx = null, params (string, object?)[] args)
    {
        using var cmd = Command(c, sql, args);
        cmd.Transaction = tx;
        return (T)Convert.ChangeType(cmd.ExecuteScalar()!, typeof(T));
    }
}
