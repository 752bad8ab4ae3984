using Coffre.Postgres.Objects;
using Coffre.TestSupport;
using Npgsql;

namespace Coffre.Persistence.Tests.Objects;

/// <summary>
/// The PostgreSQL catalog's listing and lookup queries (the SQL of PostgresObjectCatalog, with values in place of its
/// parameters) on a table large enough for the planner to prefer an index: 100,000 names in one bucket and 20,000
/// versions of one name, analysed. EXPLAIN must show an index and neither a sequential scan nor a sort, as the SQLite
/// plans are checked in <see cref="SqliteCatalogVersionsMigrationTests"/>.
/// </summary>
public sealed class PostgresCatalogQueryPlanTests
{
    [Theory]
    // ListObjects (ObjectListing's range scan): the current-objects partial index, in its order.
    [InlineData("SELECT * FROM catalog.objects WHERE bucket = 'b' AND name > '\\x6f2f30'::bytea AND name < '\\x6f2fff'::bytea AND is_latest AND NOT delete_marker ORDER BY name LIMIT 1001", "objects_current")]
    // ListObjectVersions (VersionListing's range scans): the primary key, in its order, from a key marker and from a version marker.
    [InlineData("SELECT * FROM catalog.objects WHERE bucket = 'b' AND name >= '\\x6f2f30'::bytea AND name < '\\x6f2fff'::bytea ORDER BY name, seq LIMIT 1001", "objects_pkey")]
    [InlineData("SELECT * FROM catalog.objects WHERE bucket = 'b' AND (name, seq) > ('\\x6f6e65'::bytea, -10000) AND name < '\\x6f6effff'::bytea ORDER BY name, seq LIMIT 1001", "objects_pkey")]
    // The version marker's position, and GET of the latest version of the many-versioned name.
    [InlineData("SELECT seq FROM catalog.objects WHERE bucket = 'b' AND name = '\\x6f6e65'::bytea AND version_id = 'v10000'", "objects_by_version")]
    [InlineData("SELECT * FROM catalog.objects WHERE bucket = 'b' AND name = '\\x6f6e65'::bytea AND (NULL::text IS NULL OR version_id = NULL) ORDER BY seq LIMIT 1", "objects_pkey")]
    public async Task Listing_and_lookup_queries_use_an_index_and_never_scan_or_sort(string query, string index)
    {
        var database = await PostgresServer.CreateSharedDatabaseAsync();
        await (await PostgresObjectCatalog.OpenAsync(database, TimeProvider.System)).DisposeAsync(); // applies the migrations
        await using var c = new NpgsqlConnection(database);
        await c.OpenAsync();
        // 'o/<n>' names (one current version each) and 20,000 versions of 'one' (the latest first in seq order).
        await using (var fill = new NpgsqlCommand("""
            INSERT INTO catalog.buckets(name, key_id, created, versioning) VALUES ('b', 'k', 0, 1);
            INSERT INTO catalog.objects(bucket, name, size, etag, modified, key_id, key_version, wrapped_key, metadata, parts, seq, version_id, is_latest, delete_marker)
                SELECT 'b', convert_to('o/' || lpad(i::text, 6, '0'), 'UTF8'), 1, 'e', 0, 'k', 1, '\x00', '\x00', '[]', 0, 'null', true, false
                FROM generate_series(1, 100000) i;
            INSERT INTO catalog.objects(bucket, name, size, etag, modified, key_id, key_version, wrapped_key, metadata, parts, seq, version_id, is_latest, delete_marker)
                SELECT 'b', convert_to('one', 'UTF8'), 1, 'e', 0, 'k', 1, '\x00', '\x00', '[]', -i, 'v' || i, i = 20000, false
                FROM generate_series(1, 20000) i;
            ANALYZE catalog.objects;
            """, c))
            await fill.ExecuteNonQueryAsync();
        var plan = new List<string>();
        await using (var explain = new NpgsqlCommand("EXPLAIN (COSTS OFF) " + query, c))
        await using (var r = await explain.ExecuteReaderAsync())
            while (await r.ReadAsync()) plan.Add(r.GetString(0));
        var text = string.Join("\n", plan);
        Assert.Contains(index, text);
        Assert.Contains("Index", text);
        Assert.DoesNotContain("Seq Scan", text);
        Assert.DoesNotContain("Sort", text);
    }
}
