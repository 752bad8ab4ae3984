using Coffre.Objects.Catalog;
using Coffre.Objects.Versions;
using Coffre.Sqlite.Objects;
using Microsoft.Data.Sqlite;

namespace Coffre.Persistence.Tests.Objects;

/// <summary>
/// The SQLite catalog's schema version 2 (object versions): a version-1 catalog opens in place with every object kept
/// as its null version, and the listing queries run on indexes (EXPLAIN QUERY PLAN: a search, never a scan or a sort).
/// </summary>
public sealed class SqliteCatalogVersionsMigrationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("coffre-catalog-v1-").FullName;
    private string DatabasePath => Path.Combine(_directory, "catalog.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private SqliteConnection Connect()
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString());
        c.Open();
        return c;
    }

    private static List<string> Rows(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var rows = new List<string>();
        while (r.Read()) rows.Add(string.Join(" | ", Enumerable.Range(0, r.FieldCount).Select(i => r.GetValue(i).ToString())));
        return rows;
    }

    [Fact]
    public async Task A_version_1_catalog_opens_in_place_and_keeps_every_object_as_its_null_version()
    {
        using (var c = Connect())
            Rows(c, """
                PRAGMA journal_mode = WAL;
                CREATE TABLE buckets(name TEXT PRIMARY KEY, key_id TEXT NOT NULL, created INTEGER NOT NULL);
                CREATE TABLE objects(
                    bucket TEXT NOT NULL, name BLOB NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
                    modified INTEGER NOT NULL, key_id TEXT NOT NULL, key_version INTEGER NOT NULL,
                    wrapped_key BLOB NOT NULL, metadata BLOB NOT NULL, parts TEXT NOT NULL,
                    PRIMARY KEY(bucket, name)) WITHOUT ROWID;
                CREATE INDEX objects_by_key ON objects(key_id, key_version);
                CREATE TABLE uploads(
                    upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, name BLOB NOT NULL, created INTEGER NOT NULL,
                    key_id TEXT NOT NULL, key_version INTEGER NOT NULL, wrapped_key BLOB NOT NULL, metadata BLOB NOT NULL);
                CREATE INDEX uploads_by_bucket ON uploads(bucket, name);
                CREATE TABLE upload_parts(
                    upload_id TEXT NOT NULL, number INTEGER NOT NULL, part TEXT NOT NULL, modified INTEGER NOT NULL,
                    PRIMARY KEY(upload_id, number)) WITHOUT ROWID;
                CREATE TABLE garbage(blob TEXT PRIMARY KEY, since INTEGER NOT NULL) WITHOUT ROWID;
                INSERT INTO buckets VALUES ('old', 'key-a', 1000);
                INSERT INTO objects VALUES ('old', CAST('doc' AS BLOB), 5, 'etag1', 2000, 'key-a', 1, x'0102', x'0304',
                    '[{"Number":0,"Blob":"objects/aa","Size":5,"CipherSize":105,"Header":"AQID","Md5Hex":"00","Checksum":null}]');
                INSERT INTO objects VALUES ('old', CAST('dir/x' AS BLOB), 7, 'etag2', 3000, 'key-a', 2, x'05', x'06', '[{"Number":0,"Blob":"objects/bb","Size":7,"CipherSize":107,"Header":"AQID","Md5Hex":"00","Checksum":null}]');
                PRAGMA user_version = 1;
                """);

        await using (var catalog = SqliteObjectCatalog.Open(DatabasePath))
        {
            var bucket = (await catalog.GetBucketAsync("old"))!;
            Assert.Equal(BucketVersioning.Unversioned, bucket.Versioning);
            var doc = (await catalog.GetObjectAsync("old", "doc"))!;
            Assert.Equal((VersionIds.Null, "etag1", 5L, "objects/aa"), (doc.VersionId, doc.ETag, doc.Size, doc.Parts[0].Blob));
            var versions = await catalog.ListVersionsAsync("old", "", null, null, null, 10);
            Assert.Equal([("dir/x", "null", true), ("doc", "null", true)], versions.Entries.Select(e => (e.Version!.Name, e.Version.VersionId, e.Version.IsLatest)));
            Assert.Equal(["dir/x", "doc"], (await catalog.ListObjectsAsync("old", "", null, null, 10)).Entries.Select(e => e.Record!.Name));
            Assert.Equal(2, (await catalog.CountByKeyVersionAsync()).Values.Sum());
            // The migrated catalog takes versions like a new one.
            await catalog.SetBucketVersioningAsync("old", BucketVersioning.Enabled);
            await catalog.CommitObjectAsync(doc with { VersionId = new string('1', 32), ETag = "etag3" });
            Assert.Equal([new string('1', 32), "null"], (await catalog.ListVersionsAsync("old", "doc", null, null, null, 10)).Entries.Select(e => e.Version!.VersionId));
        }
        using (var c = Connect())
            Assert.Equal(["2"], Rows(c, "PRAGMA user_version"));
        await using (var again = SqliteObjectCatalog.Open(DatabasePath))
            Assert.Equal("etag3", (await again.GetObjectAsync("old", "doc"))!.ETag);
    }

    [Theory]
    // ListObjects (ObjectListing's range scan): the current-objects index alone.
    [InlineData("SELECT * FROM objects INDEXED BY objects_current WHERE bucket = 'b' AND name > x'61' AND name < x'62ff' AND is_latest = 1 AND delete_marker = 0 ORDER BY name LIMIT 256", "objects_current")]
    // ListObjectVersions (VersionListing's range scans): the primary key, in its order.
    [InlineData("SELECT * FROM objects WHERE bucket = 'b' AND name >= x'61' AND name < x'62ff' ORDER BY name, seq LIMIT 256", "PRIMARY KEY")]
    [InlineData("SELECT * FROM objects WHERE bucket = 'b' AND (name, seq) > (x'61', -5) AND name < x'62ff' ORDER BY name, seq LIMIT 256", "PRIMARY KEY")]
    // GET of the latest version, and of a version by id.
    [InlineData("SELECT * FROM objects WHERE bucket = 'b' AND name = x'61' AND (NULL IS NULL OR version_id = NULL) ORDER BY seq LIMIT 1", "PRIMARY KEY")]
    [InlineData("SELECT seq FROM objects WHERE bucket = 'b' AND name = x'61' AND version_id = 'v'", "objects_by_version")]
    public async Task Listing_and_lookup_queries_search_an_index_and_never_scan_or_sort(string query, string index)
    {
        await SqliteObjectCatalog.Open(DatabasePath).DisposeAsync();
        using var c = Connect();
        var plan = string.Join("\n", Rows(c, "EXPLAIN QUERY PLAN " + query));
        Assert.Contains("SEARCH objects USING", plan);
        Assert.Contains(index, plan);
        Assert.DoesNotContain("SCAN", plan);
        Assert.DoesNotContain("TEMP B-TREE", plan);
    }
}
