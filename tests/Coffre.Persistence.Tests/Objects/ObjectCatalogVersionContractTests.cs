using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Objects.Keys;
using Coffre.Objects.Manifests;
using Coffre.Objects.Versions;

namespace Coffre.Persistence.Tests.Objects;

/// <summary>Object versions, on every catalog: S3's null version, versions newest first, delete markers, version
/// listings with key and version-id markers, garbage only for the version deleted, key queries over every version.</summary>
public abstract partial class ObjectCatalogContractTests
{
    private static int _versions;

    /// <summary>A version id of the shape the object store makes, increasing with each call (the catalog must not care).</summary>
    private static string NewVersionId() => $"{Interlocked.Increment(ref _versions):x32}";

    private async Task<ObjectRecord> PutVersionAsync(string name, string versionId, string etag, string keyId = "key-a", int keyVersion = 1)
    {
        Time.Advance(TimeSpan.FromSeconds(1));
        var record = Record(name, etag, keyId, keyVersion) with { VersionId = versionId };
        await Catalog.CommitObjectAsync(record);
        return record;
    }

    private async Task<List<(string Name, string VersionId, bool Latest, bool Marker)>> AllVersionsAsync(string prefix = "") =>
        (await Catalog.ListVersionsAsync(Bucket, prefix, null, null, null, 1000)).Entries
            .Select(e => (e.Version!.Name, e.Version.VersionId, e.Version.IsLatest, e.Version.IsDeleteMarker)).ToList();

    [Fact]
    public async Task Versions_accumulate_newest_first_and_a_null_version_replaces_only_the_null_version()
    {
        var unversioned = await PutVersionAsync("k", VersionIds.Null, "n1");
        Assert.Equal([("k", "null", true, false)], await AllVersionsAsync());

        var (v1, v2) = (NewVersionId(), NewVersionId());
        await PutVersionAsync("k", v1, "e1");
        var second = await PutVersionAsync("k", v2, "e2");
        Assert.Equal([("k", v2, true, false), ("k", v1, false, false), ("k", "null", false, false)], await AllVersionsAsync());
        AssertSame(second, await Catalog.GetObjectAsync(Bucket, "k"));
        AssertSame(unversioned, (await Catalog.GetVersionAsync(Bucket, "k", VersionIds.Null))!.Record);
        Assert.Equal(v2, (await Catalog.GetObjectAsync(Bucket, "k"))!.VersionId);
        Assert.Empty(await AllGarbageAsync()); // a new version supersedes nothing

        // Suspended: the write replaces the null version, whose blobs (alone) become garbage, and becomes the latest.
        var replaced = await PutVersionAsync("k", VersionIds.Null, "n2");
        Assert.Equal([("k", "null", true, false), ("k", v2, false, false), ("k", v1, false, false)], await AllVersionsAsync());
        AssertSame(replaced, await Catalog.GetObjectAsync(Bucket, "k"));
        Assert.Equal(new[] { unversioned.Parts[0].Blob, BlobMetadata.SidecarKey(unversioned.Parts[0].Blob), ObjectManifest.KeyOf(unversioned.Parts[0].Blob) }.Order(), (await AllGarbageAsync()).Order());
        Assert.Null(await Catalog.GetVersionAsync(Bucket, "k", NewVersionId()));
    }

    [Fact]
    public async Task A_delete_marker_hides_the_object_and_deleting_a_version_frees_that_version_alone()
    {
        var (v1, v2, marker) = (NewVersionId(), NewVersionId(), NewVersionId());
        var first = await PutVersionAsync("k", v1, "e1");
        var second = await PutVersionAsync("k", v2, "e2");
        await PutAsync("other");
        await Catalog.CommitDeleteMarkerAsync(Bucket, "k", marker, Time.GetUtcNow());

        Assert.Null(await Catalog.GetObjectAsync(Bucket, "k"));
        var latest = (await Catalog.GetVersionAsync(Bucket, "k", null))!;
        Assert.Equal((marker, true, true), (latest.VersionId, latest.IsDeleteMarker, latest.IsLatest));
        Assert.Equal(["other"], (await Catalog.ListObjectsAsync(Bucket, "", null, null, 10)).Entries.Select(e => e.Record!.Name));
        Assert.Equal([("k", marker, true, true), ("k", v2, false, false), ("k", v1, false, false)], await AllVersionsAsync("k"));
        Assert.Empty(await AllGarbageAsync());

        // Removing the marker brings the newest object version back; removing a version frees its blobs only.
        Assert.True((await Catalog.DeleteVersionAsync(Bucket, "k", marker))!.IsDeleteMarker);
        AssertSame(second, await Catalog.GetObjectAsync(Bucket, "k"));
        Assert.Equal(v1, (await Catalog.DeleteVersionAsync(Bucket, "k", v1))!.VersionId);
        Assert.Equal(new[] { first.Parts[0].Blob, BlobMetadata.SidecarKey(first.Parts[0].Blob), ObjectManifest.KeyOf(first.Parts[0].Blob) }.Order(), (await AllGarbageAsync()).Order());
        AssertSame(second, await Catalog.GetObjectAsync(Bucket, "k"));
        Assert.Null(await Catalog.DeleteVersionAsync(Bucket, "k", v1));

        // Deleting the latest version makes the next one the latest; a bucket holding only a marker is not empty.
        var marker2 = NewVersionId();
        await Catalog.CommitDeleteMarkerAsync(Bucket, "k", marker2, Time.GetUtcNow());
        Assert.NotNull(await Catalog.DeleteVersionAsync(Bucket, "k", v2));
        Assert.Equal([("k", marker2, true, true)], await AllVersionsAsync("k"));
        await Catalog.DeleteVersionAsync(Bucket, "other", VersionIds.Null);
        Assert.False(await Catalog.TryDeleteEmptyBucketAsync(Bucket));
        await Catalog.DeleteVersionAsync(Bucket, "k", marker2);
        Assert.True(await Catalog.TryDeleteEmptyBucketAsync(Bucket));
    }

    [Fact]
    public async Task A_null_delete_marker_replaces_the_null_version()
    {
        var nullVersion = await PutVersionAsync("k", VersionIds.Null, "n");
        var v1 = NewVersionId();
        await PutVersionAsync("k", v1, "e1");
        await Catalog.CommitDeleteMarkerAsync(Bucket, "k", VersionIds.Null, Time.GetUtcNow());
        Assert.Equal([("k", "null", true, true), ("k", v1, false, false)], await AllVersionsAsync());
        Assert.Contains(nullVersion.Parts[0].Blob, await AllGarbageAsync());
        var e = await Assert.ThrowsAsync<ObjectStoreException>(() => Catalog.CommitDeleteMarkerAsync("gone", "k", VersionIds.Null, Time.GetUtcNow()));
        Assert.Equal(ObjectError.NoSuchBucket, e.Error);
    }

    [Fact]
    public async Task Version_listings_page_by_key_and_version_id_markers_with_prefix_and_delimiter()
    {
        var expected = new List<(string Name, string VersionId)>();
        foreach (var (name, count) in new[] { ("a/1", 3), ("a/2", 1), ("b", 2), ("c", 1), ("d/x/y", 2) })
        {
            var ids = Enumerable.Range(0, count).Select(_ => NewVersionId()).ToList();
            foreach (var id in ids) await PutVersionAsync(name, id, "e" + id);
            expected.AddRange(ids.AsEnumerable().Reverse().Select(id => (name, id)));
        }
        var marker = NewVersionId();
        await Catalog.CommitDeleteMarkerAsync(Bucket, "b", marker, Time.GetUtcNow());
        expected.Insert(expected.FindIndex(v => v.Name == "b"), ("b", marker));

        for (var pageSize = 1; pageSize <= 4; pageSize++)
        {
            var seen = new List<(string, string)>();
            string? keyMarker = null, versionMarker = null;
            while (true)
            {
                var page = await Catalog.ListVersionsAsync(Bucket, "", null, keyMarker, versionMarker, pageSize);
                Assert.True(page.Entries.Count <= pageSize);
                seen.AddRange(page.Entries.Select(e => (e.Version!.Name, e.Version.VersionId)));
                if (!page.IsTruncated) break;
                (keyMarker, versionMarker) = (page.NextKeyMarker, page.NextVersionIdMarker);
            }
            Assert.Equal(expected, seen);
        }

        // A key marker alone starts after every version of that key; with a version-id marker, after that version.
        Assert.Equal(expected.SkipWhile(v => v.Name != "b").Skip(3),
            (await Catalog.ListVersionsAsync(Bucket, "", null, "b", null, 100)).Entries.Select(e => (e.Version!.Name, e.Version.VersionId)));
        Assert.Equal(expected.Skip(1),
            (await Catalog.ListVersionsAsync(Bucket, "", null, "a/1", expected[0].VersionId, 100)).Entries.Select(e => (e.Version!.Name, e.Version.VersionId)));

        // Delimiter: a rolled-up prefix is one entry; prefix limits the names.
        var rolled = await Catalog.ListVersionsAsync(Bucket, "", "/", null, null, 100);
        Assert.Equal(["a/", "b", "b", "b", "c", "d/"], rolled.Entries.Select(e => e.Prefix ?? e.Version!.Name));
        var firstTwo = await Catalog.ListVersionsAsync(Bucket, "", "/", null, null, 2);
        Assert.Equal((true, "b"), (firstTwo.IsTruncated, firstTwo.NextKeyMarker));
        var after = await Catalog.ListVersionsAsync(Bucket, "", "/", "a/", null, 100);
        Assert.Equal(["b", "b", "b", "c", "d/"], after.Entries.Select(e => e.Prefix ?? e.Version!.Name));
        Assert.Equal(["d/x/"], (await Catalog.ListVersionsAsync(Bucket, "d/", "/", null, null, 100)).Entries.Select(e => e.Prefix));

        var e = await Assert.ThrowsAsync<ObjectStoreException>(() => Catalog.ListVersionsAsync(Bucket, "", null, "b", NewVersionId(), 10));
        Assert.Equal(ObjectError.InvalidArgument, e.Error);
    }

    [Fact]
    public async Task Key_queries_rotation_and_rewrap_cover_every_version_and_no_delete_marker()
    {
        var (v1, v2) = (NewVersionId(), NewVersionId());
        var old = await PutVersionAsync("k", v1, "e1", keyVersion: 1);
        await PutVersionAsync("k", v2, "e2", keyVersion: 2);
        await Catalog.CommitDeleteMarkerAsync(Bucket, "k", NewVersionId(), Time.GetUtcNow());

        Assert.Equal(["key-a"], await Catalog.KeysInUseAsync());
        var counts = await Catalog.CountByKeyVersionAsync();
        Assert.Equal(2, counts.Count);
        Assert.Equal((1L, 1L), (counts[("key-a", 1)], counts[("key-a", 2)]));
        Assert.Equal([(Bucket, "k", 1), (Bucket, "k", 2)], (await Catalog.ObjectsUnderKeyAsync("key-a")).Order());
        var below = await Catalog.ObjectsBelowVersionAsync("key-a", 2, null, null, 10);
        Assert.Equal([v1], below.Select(o => o.VersionId));

        // The noncurrent version is rewrapped, and only it.
        var rewrapped = new WrappedKeyRef("key-a", 2, [42]);
        Assert.True(await Catalog.ReplaceWrappedKeyAsync(Bucket, "k", old.Key, rewrapped));
        Assert.Equal([42], (await Catalog.GetVersionAsync(Bucket, "k", v1))!.Record!.Key.Wrapped);
        Assert.NotEqual([42], (await Catalog.GetVersionAsync(Bucket, "k", v2))!.Record!.Key.Wrapped);
        Assert.Empty(await Catalog.ObjectsBelowVersionAsync("key-a", 2, null, null, 10));
    }

    [Fact]
    public async Task Paging_below_a_key_version_walks_every_version_of_a_name()
    {
        var ids = Enumerable.Range(0, 5).Select(_ => NewVersionId()).ToList();
        foreach (var id in ids) await PutVersionAsync("k", id, "e" + id);
        var seen = new List<string>();
        (string, string, string)? after = null;
        while (await Catalog.ObjectsBelowVersionAsync("key-a", 2, null, after, 2) is { Count: > 0 } page)
        {
            seen.AddRange(page.Select(o => o.VersionId));
            after = (page[^1].Bucket, page[^1].Name, page[^1].VersionId);
        }
        Assert.Equal(ids.Order(StringComparer.Ordinal), seen);
    }

    [Fact]
    public async Task A_bucket_keeps_its_versioning_state()
    {
        Assert.Equal(BucketVersioning.Unversioned, (await Catalog.GetBucketAsync(Bucket))!.Versioning);
        Assert.True(await Catalog.SetBucketVersioningAsync(Bucket, BucketVersioning.Enabled));
        Assert.Equal(BucketVersioning.Enabled, (await Catalog.GetBucketAsync(Bucket))!.Versioning);
        Assert.True(await Catalog.SetBucketVersioningAsync(Bucket, BucketVersioning.Suspended));
        Assert.Equal(BucketVersioning.Suspended, (await Catalog.ListBucketsAsync()).Single(b => b.Name == Bucket).Versioning);
        Assert.False(await Catalog.SetBucketVersioningAsync("missing", BucketVersioning.Enabled));
    }
}
