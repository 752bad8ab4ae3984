using System.Text;
using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Objects.Encryption;
using Coffre.Objects.Keys;
using Coffre.Objects.Manifests;
using Coffre.Objects.Versions;
using Microsoft.Extensions.Time.Testing;

namespace Coffre.Persistence.Tests.Objects;

/// <summary>
/// Everything an <see cref="IObjectCatalog"/> promises, run unchanged against every implementation: buckets,
/// objects, S3 listing order and paging, the key queries of rotation and reports, multipart state, atomic
/// conditional writes (also between two instances on one database), the headers that detect a rolled-back blob,
/// garbage, and a database that refuses writes.
/// </summary>
public abstract partial class ObjectCatalogContractTests : IAsyncLifetime
{
    protected const string Bucket = "bucket";

    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));

    /// <summary>The catalog under test (the first instance on a fresh, empty database).</summary>
    protected IObjectCatalog Catalog { get; private set; } = null!;

    /// <summary>Creates a fresh, empty database for this test.</summary>
    protected abstract Task CreateDatabaseAsync();

    /// <summary>Opens one more catalog instance on this test's database (as another Coffre process would).</summary>
    protected abstract Task<IObjectCatalog> OpenAsync(TimeProvider time);

    private readonly List<IObjectCatalog> _opened = [];

    protected async Task<IObjectCatalog> OpenInstanceAsync(TimeProvider time)
    {
        var catalog = await OpenAsync(time);
        _opened.Add(catalog);
        return catalog;
    }

    /// <summary>Makes the database refuse (true) or accept again (false) every change to the objects table.</summary>
    protected abstract Task RefuseObjectWritesAsync(bool refuse);

    public virtual async Task InitializeAsync()
    {
        await CreateDatabaseAsync();
        Catalog = await OpenInstanceAsync(Time);
        Assert.True(await Catalog.TryCreateBucketAsync(new BucketRecord(Bucket, "key-a", Time.GetUtcNow())));
    }

    public virtual async Task DisposeAsync()
    {
        foreach (var catalog in _opened)
            if (catalog is IAsyncDisposable disposable) await disposable.DisposeAsync();
    }

    /// <summary>What the database says when it refuses a write in <see cref="RefuseObjectWritesAsync"/>.</summary>
    protected const string RefusalText = "refused by the test";

    // ---------------- helpers ----------------

    private static int _blobs;

    protected static StoredPart Part(int number, long size = 10, byte fill = 1) =>
        new(number, $"objects/{Interlocked.Increment(ref _blobs):D8}", size, size + 28 + 72, Enumerable.Repeat(fill, 72).ToArray(), "0123456789abcdef0123456789abcdef", "AAAAAA==");

    protected ObjectRecord Record(string name, string etag = "etag", string keyId = "key-a", int version = 1, string bucket = Bucket, params StoredPart[] parts) =>
        new(bucket, name, parts.Length == 0 ? 10 : parts.Sum(p => p.Size), etag, Time.GetUtcNow(),
            new WrappedKeyRef(keyId, version, Encoding.UTF8.GetBytes($"wrapped:{name}:{etag}")), [9, 8, 7],
            parts.Length == 0 ? [Part(0)] : parts);

    private async Task<ObjectRecord> PutAsync(string name, string etag = "etag", string keyId = "key-a", int version = 1, string bucket = Bucket)
    {
        var record = Record(name, etag, keyId, version, bucket);
        await Catalog.CommitObjectAsync(record);
        return record;
    }

    private Task<IReadOnlyList<string>> AllGarbageAsync() => Catalog.GarbageOlderThanAsync(DateTimeOffset.MaxValue);

    private static void AssertSame(ObjectRecord expected, ObjectRecord? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal((expected.Bucket, expected.Name, expected.Size, expected.ETag, expected.Modified), (actual.Bucket, actual.Name, actual.Size, actual.ETag, actual.Modified));
        Assert.Equal((expected.Key.KeyId, expected.Key.KeyVersion), (actual.Key.KeyId, actual.Key.KeyVersion));
        Assert.Equal(expected.Key.Wrapped, actual.Key.Wrapped);
        Assert.Equal(expected.SealedMetadata, actual.SealedMetadata);
        Assert.Equal(expected.StorageClass, actual.StorageClass);
        Assert.Equal(expected.Parts.Count, actual.Parts.Count);
        for (var i = 0; i < expected.Parts.Count; i++)
        {
            var (e, a) = (expected.Parts[i], actual.Parts[i]);
            Assert.Equal((e.Number, e.Blob, e.Size, e.CipherSize, e.Md5Hex, e.Checksum), (a.Number, a.Blob, a.Size, a.CipherSize, a.Md5Hex, a.Checksum));
            Assert.Equal(e.Header, a.Header);
        }
    }

    // ---------------- buckets ----------------

    [Fact]
    public async Task Buckets_are_created_once_listed_by_name_and_deleted_only_when_empty()
    {
        Assert.False(await Catalog.TryCreateBucketAsync(new BucketRecord(Bucket, "key-b", Time.GetUtcNow())));
        Assert.Equal("key-a", (await Catalog.GetBucketAsync(Bucket))!.KeyId);
        Assert.True(await Catalog.TryCreateBucketAsync(new BucketRecord("alpha", "key-b", Time.GetUtcNow())));
        Assert.True(await Catalog.TryCreateBucketAsync(new BucketRecord("zeta", "key-b", Time.GetUtcNow())));
        var listed = await Catalog.ListBucketsAsync();
        Assert.Equal(["alpha", Bucket, "zeta"], listed.Select(b => b.Name));
        Assert.Equal(Time.GetUtcNow(), listed[0].Created);
        Assert.Null(await Catalog.GetBucketAsync("missing"));

        await PutAsync("o", bucket: "alpha");
        Assert.False(await Catalog.TryDeleteEmptyBucketAsync("alpha"));
        await Catalog.CreateUploadAsync(new UploadRecord("u-zeta", "zeta", "mp", Time.GetUtcNow(), new WrappedKeyRef("key-b", 1, [1]), [2]));
        Assert.False(await Catalog.TryDeleteEmptyBucketAsync("zeta"));
        Assert.NotNull(await Catalog.DeleteVersionAsync("alpha", "o", VersionIds.Null));
        Assert.True(await Catalog.TryDeleteEmptyBucketAsync("alpha"));
        Assert.Null(await Catalog.GetBucketAsync("alpha"));
    }

    [Fact]
    public async Task Bucket_encryption_is_set_replaced_removed_and_goes_with_its_bucket()
    {
        Assert.Null(await Catalog.GetBucketEncryptionAsync(Bucket));
        await Catalog.SetBucketEncryptionAsync(Bucket, new BucketEncryption("aws:kms", "key-b", true));
        Assert.Equal(new BucketEncryption("aws:kms", "key-b", true), await Catalog.GetBucketEncryptionAsync(Bucket));
        await Catalog.SetBucketEncryptionAsync(Bucket, new BucketEncryption("AES256", null, false));
        Assert.Equal(new BucketEncryption("AES256", null, false), await Catalog.GetBucketEncryptionAsync(Bucket));
        await Catalog.SetBucketEncryptionAsync(Bucket, null);
        Assert.Null(await Catalog.GetBucketEncryptionAsync(Bucket));

        // A bucket deleted and created again starts without the old bucket's configuration.
        Assert.True(await Catalog.TryCreateBucketAsync(new BucketRecord("again", "key-a", Time.GetUtcNow())));
        await Catalog.SetBucketEncryptionAsync("again", new BucketEncryption("aws:kms", "key-b", false));
        Assert.True(await Catalog.TryDeleteEmptyBucketAsync("again"));
        Assert.True(await Catalog.TryCreateBucketAsync(new BucketRecord("again", "key-a", Time.GetUtcNow())));
        Assert.Null(await Catalog.GetBucketEncryptionAsync("again"));
    }

    [Fact]
    public async Task Nothing_is_committed_into_a_bucket_that_does_not_exist()
    {
        var e = await Assert.ThrowsAsync<ObjectStoreException>(() => Catalog.CommitObjectAsync(Record("o", bucket: "gone")));
        Assert.Equal(ObjectError.NoSuchBucket, e.Error);
        e = await Assert.ThrowsAsync<ObjectStoreException>(() => Catalog.CreateUploadAsync(
            new UploadRecord("u", "gone", "mp", Time.GetUtcNow(), new WrappedKeyRef("key-a", 1, [1]), [2])));
        Assert.Equal(ObjectError.NoSuchBucket, e.Error);
        Assert.Null(await Catalog.GetObjectAsync("gone", "o"));
    }

    // ---------------- objects ----------------

    [Fact]
    public async Task An_object_comes_back_exactly_as_committed_and_a_replacement_makes_the_old_blobs_garbage()
    {
        var multi = Record("doc", "v1-2", parts: [Part(1, 5 * 1024 * 1024), Part(2, 3)]);
        await Catalog.CommitObjectAsync(multi);
        AssertSame(multi, await Catalog.GetObjectAsync(Bucket, "doc"));
        Assert.Empty(await AllGarbageAsync());

        Time.Advance(TimeSpan.FromSeconds(1));
        var replacement = Record("doc", "v2");
        await Catalog.CommitObjectAsync(replacement);
        AssertSame(replacement, await Catalog.GetObjectAsync(Bucket, "doc"));
        Assert.Equal(new[] { multi.Parts[0].Blob, multi.Parts[1].Blob, BlobMetadata.SidecarKey(multi.Parts[0].Blob), ObjectManifest.KeyOf(multi.Parts[0].Blob) }.Order(),
            (await AllGarbageAsync()).Order());

        Assert.NotNull(await Catalog.DeleteVersionAsync(Bucket, "doc", VersionIds.Null));
        Assert.Null(await Catalog.GetObjectAsync(Bucket, "doc"));
        Assert.Contains(replacement.Parts[0].Blob, await AllGarbageAsync());
        Assert.Contains(BlobMetadata.SidecarKey(replacement.Parts[0].Blob), await AllGarbageAsync());
        Assert.Null(await Catalog.DeleteVersionAsync(Bucket, "doc", VersionIds.Null));
    }

    [Fact]
    public async Task The_current_versions_stream_headers_are_kept_so_a_backend_serving_an_older_blob_is_detected()
    {
        // What the object store compares with what the backend returns: after an overwrite, the catalog holds the new
        // version's header and blob, never the old one's, so an old (validly encrypted) blob served instead is refused.
        var v1 = Record("rolled", "v1", parts: [Part(0, fill: 0x11)]);
        await Catalog.CommitObjectAsync(v1);
        var v2 = Record("rolled", "v2", parts: [Part(0, fill: 0x22)]);
        await Catalog.CommitObjectAsync(v2);
        var current = (await Catalog.GetObjectAsync(Bucket, "rolled"))!;
        Assert.Equal(v2.Parts[0].Header, current.Parts[0].Header);
        Assert.NotEqual(v1.Parts[0].Header, current.Parts[0].Header);
        Assert.NotEqual(v1.Parts[0].Blob, current.Parts[0].Blob);
        Assert.Equal(72, current.Parts[0].Header.Length);
    }

    [Fact]
    public async Task Names_keep_every_unicode_character_and_are_per_bucket()
    {
        Assert.True(await Catalog.TryCreateBucketAsync(new BucketRecord("other", "key-a", Time.GetUtcNow())));
        string[] names = ["é/\U0001F600 x", "a\u0000b", "日本語/ファイル", "trailing space ", "\uFFFD"];
        for (var i = 0; i < names.Length; i++) await PutAsync(names[i], etag: $"e{i}");
        for (var i = 0; i < names.Length; i++) Assert.Equal($"e{i}", (await Catalog.GetObjectAsync(Bucket, names[i]))!.ETag);
        Assert.Equal(names.Length, (await Catalog.ListObjectsAsync(Bucket, "", null, null, 100)).Entries.Count);
        Assert.Null(await Catalog.GetObjectAsync("other", names[0]));
    }

    // ---------------- conditional writes ----------------

    [Fact]
    public async Task Conditions_are_checked_against_the_current_version_in_the_commit()
    {
        var create = new WriteCondition(null, IfNoneMatch: true);
        await Catalog.CommitObjectAsync(Record("c", "first"), condition: create);
        var e = await Assert.ThrowsAsync<ObjectStoreException>(() => Catalog.CommitObjectAsync(Record("c", "second"), condition: create));
        Assert.Equal(ObjectError.PreconditionFailed, e.Error);

        e = await Assert.ThrowsAsync<ObjectStoreException>(() => Catalog.CommitObjectAsync(Record("c", "third"), condition: new WriteCondition("\"other\"", false)));
        Assert.Equal(ObjectError.PreconditionFailed, e.Error);
        e = await Assert.ThrowsAsync<ObjectStoreException>(() => Catalog.CommitObjectAsync(Record("missing", "x"), condition: new WriteCondition("*", false)));
        Assert.Equal(ObjectError.NoSuchKey, e.Error);
        Assert.Equal("first", (await Catalog.GetObjectAsync(Bucket, "c"))!.ETag);

        await Catalog.CommitObjectAsync(Record("c", "fourth"), condition: new WriteCondition("\"first\"", false));
        Assert.Equal("fourth", (await Catalog.GetObjectAsync(Bucket, "c"))!.ETag);
        // A refused commit leaves its blob where it was (the writer abandons it), and the winner's blob is no garbage.
        Assert.DoesNotContain((await Catalog.GetObjectAsync(Bucket, "c"))!.Parts[0].Blob, await AllGarbageAsync());
    }

    [Fact]
    public async Task Concurrent_create_only_writes_from_two_instances_have_exactly_one_winner()
    {
        var second = await OpenInstanceAsync(Time);
        for (var round = 0; round < 10; round++)
        {
            var name = $"race-{round}";
            var create = new WriteCondition(null, IfNoneMatch: true);
            var attempts = Enumerable.Range(0, 16).Select(async i =>
            {
                await Task.Yield();
                try
                {
                    await (i % 2 == 0 ? Catalog : second).CommitObjectAsync(Record(name, $"w{i}"), condition: create);
                    return $"w{i}";
                }
                catch (ObjectStoreException e) when (e.Error == ObjectError.PreconditionFailed)
                {
                    return null;
                }
            }).ToList();
            var winners = (await Task.WhenAll(attempts)).Where(w => w is not null).ToList();
            Assert.Single(winners);
            Assert.Equal(winners[0], (await second.GetObjectAsync(Bucket, name))!.ETag);
        }
    }

    [Fact]
    public async Task Concurrent_if_match_writes_from_two_instances_have_exactly_one_winner()
    {
        var second = await OpenInstanceAsync(Time);
        await PutAsync("shared", "base");
        var ifMatch = new WriteCondition("\"base\"", false);
        var attempts = Enumerable.Range(0, 16).Select(async i =>
        {
            await Task.Yield();
            try
            {
                await (i % 2 == 0 ? Catalog : second).CommitObjectAsync(Record("shared", $"w{i}"), condition: ifMatch);
                return true;
            }
            catch (ObjectStoreException e) when (e.Error == ObjectError.PreconditionFailed)
            {
                return false;
            }
        });
        Assert.Single(await Task.WhenAll(attempts), won => won);
    }

    // ---------------- listing ----------------

    private static int Utf8Compare(string a, string b) => Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b));

    private async Task AddAsync(string bucket, params string[] names)
    {
        if (await Catalog.GetBucketAsync(bucket) is null) await Catalog.TryCreateBucketAsync(new BucketRecord(bucket, "key-a", DateTimeOffset.UnixEpoch));
        foreach (var n in names) await Catalog.CommitObjectAsync(Record(n, bucket: bucket));
    }

    /// <summary>The naive reference: filter, roll up, sort by UTF-8 bytes.</summary>
    private static List<string> Expected(IEnumerable<string> keys, string prefix, string? delimiter, string? startAfter)
    {
        var set = new HashSet<string>();
        foreach (var k in keys)
        {
            if (!k.StartsWith(prefix, StringComparison.Ordinal)) continue;
            if (startAfter is not null && Utf8Compare(k, startAfter) <= 0) continue;
            var cut = delimiter is null ? -1 : k.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal);
            set.Add(cut < 0 ? k : k[..(cut + delimiter!.Length)]);
        }
        var list = set.ToList();
        list.Sort(Utf8Compare);
        return list;
    }

    /// <summary>Pages through a listing as a client does (NextMarker as the next start-after).</summary>
    private async Task<List<string>> PageThroughAsync(string bucket, string prefix, string? delimiter, string? startAfter, int maxKeys)
    {
        var all = new List<string>();
        var marker = startAfter;
        for (var pages = 0; ; pages++)
        {
            Assert.True(pages < 1000, "listing does not terminate");
            var page = await Catalog.ListObjectsAsync(bucket, prefix, delimiter, marker, maxKeys);
            Assert.True(page.Entries.Count <= maxKeys);
            all.AddRange(page.Entries.Select(e => e.Record?.Name ?? e.Prefix!));
            if (!page.IsTruncated)
            {
                Assert.Null(page.NextMarker);
                return all;
            }
            Assert.Equal(maxKeys, page.Entries.Count);
            Assert.NotNull(page.NextMarker);
            marker = page.NextMarker;
        }
    }

    private static readonly string[] Keys =
    [
        "a/1", "a/2", "a/3", "a/sub/1", "a/sub/2", "b", "b/1", "c/x/1", "c/x/2", "c/y/1",
        "d", "e/1", "e/2", "e/3", "e/4", "f", "g/1", "h", "i/i/i", "j",
    ];

    [Fact]
    public async Task Paging_matches_the_reference_listing_for_every_prefix_delimiter_marker_and_page_size()
    {
        await AddAsync("b1", Keys);
        foreach (var (prefix, delimiter) in new[] { ("", (string?)null), ("", "/"), ("a/", "/"), ("a/", null), ("c/", "/"), ("e", null), ("zz", "/"), ("a/sub/", "/") })
            foreach (var startAfter in new[] { null, "", "a/2", "a/sub/1", "b", "c/", "0", "zzz" })
                foreach (var maxKeys in new[] { 1, 2, 3, 1000 })
                {
                    var expected = Expected(Keys, prefix, delimiter, startAfter);
                    // A start-after inside a rolled-up prefix: S3 skips the rest of that prefix (it was already returned).
                    if (delimiter is not null && startAfter is not null && startAfter.StartsWith(prefix, StringComparison.Ordinal)
                        && startAfter.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal) is var i && i >= 0)
                        expected.Remove(startAfter[..(i + delimiter.Length)]);
                    Assert.True(expected.SequenceEqual(await PageThroughAsync("b1", prefix, delimiter, startAfter, maxKeys)),
                        $"prefix '{prefix}', delimiter '{delimiter}', start-after '{startAfter}', max-keys {maxKeys}");
                }
    }

    [Fact]
    public async Task Common_prefixes_spanning_pages_and_scans_are_returned_once()
    {
        // More keys under one prefix than one scan returns (ObjectListing.ScanSize).
        var keys = Enumerable.Range(0, ObjectListing.ScanSize + 30).Select(i => $"big/{i:D4}").Concat(["a", "big0", "c/1", "c/2", "d"]).ToArray();
        await AddAsync("b2", keys);
        Assert.Equal(["a", "big/", "big0", "c/", "d"], await PageThroughAsync("b2", "", "/", null, 1));
        Assert.Equal(["a", "big/", "big0", "c/", "d"], await PageThroughAsync("b2", "", "/", null, 2));
        var page = await Catalog.ListObjectsAsync("b2", "", "/", null, 2);
        Assert.True(page.IsTruncated);
        Assert.Equal("big/", page.NextMarker);
        Assert.Equal(keys.Where(k => k.StartsWith("big/", StringComparison.Ordinal)), await PageThroughAsync("b2", "big/", "/", null, 1000));
    }

    [Fact]
    public async Task A_full_last_page_is_not_truncated()
    {
        await AddAsync("b3", "x", "y", "z");
        var page = await Catalog.ListObjectsAsync("b3", "", null, null, 3);
        Assert.False(page.IsTruncated);
        Assert.Null(page.NextMarker);
        var rolled = await Catalog.ListObjectsAsync("b3", "", "/", null, 3);
        Assert.False(rolled.IsTruncated);
        Assert.Empty((await Catalog.ListObjectsAsync("b3", "", null, null, 0)).Entries);
    }

    [Fact]
    public async Task Order_and_start_after_are_utf8_byte_order()
    {
        // UTF-16 ordinal: "\U0001F600" (D83D DE00) < "\uFF21" < ...; UTF-8 (S3's order): "é" (C3) < "\uFF21" (EF) < "\U0001F600" (F0).
        // A collation (en_US, ICU) would order these differently again: "B" < "a" in bytes, not in a dictionary.
        string[] keys = ["\uFF21", "\uFF21\uFF21", "\U0001F600", "z", "é", "\uE000", "B", "a", "a b", "a-b", "ab", "_"];
        await AddAsync("b4", keys);
        var expected = keys.ToList();
        expected.Sort(Utf8Compare);
        Assert.Equal(["B", "_", "a", "a b", "a-b", "ab", "z", "é", "\uE000", "\uFF21", "\uFF21\uFF21", "\U0001F600"], expected);
        Assert.Equal(expected, await PageThroughAsync("b4", "", null, null, 1));
        Assert.Equal(expected, await PageThroughAsync("b4", "", null, null, 1000));
        Assert.Equal(["\U0001F600"], await PageThroughAsync("b4", "", null, "\uFF21\uFF21", 2));
        // A start-after beyond the prefix (in UTF-8 order, though not in UTF-16 order) leaves nothing.
        Assert.Empty(await PageThroughAsync("b4", "\uFF21", null, "\U0001F600", 10));
        // A start-after before the prefix starts at the prefix.
        Assert.Equal(["\uFF21", "\uFF21\uFF21"], await PageThroughAsync("b4", "\uFF21", null, "\uE000", 10));
    }

    [Fact]
    public async Task Multi_character_delimiters_and_buckets_are_separate()
    {
        await AddAsync("b5", "x--1", "x--2", "y", "x-3");
        await AddAsync("b6", "other");
        Assert.Equal(["x--", "x-3", "y"], await PageThroughAsync("b5", "", "--", null, 1));
        Assert.Equal(["other"], await PageThroughAsync("b6", "", null, null, 5));
    }

    // ---------------- keys: reports and rotation ----------------

    [Fact]
    public async Task Key_queries_say_which_objects_each_key_version_protects()
    {
        await PutAsync("b/1", keyId: "key-a", version: 1);
        await PutAsync("a/1", keyId: "key-a", version: 2);
        await PutAsync("c", keyId: "key-a", version: 1);
        await PutAsync("d", keyId: "key-b", version: 3);
        Assert.True(await Catalog.TryCreateBucketAsync(new BucketRecord("another", "key-a", Time.GetUtcNow())));
        await PutAsync("e", keyId: "key-a", version: 1, bucket: "another");

        Assert.Equal(["key-a", "key-b"], await Catalog.KeysInUseAsync());
        var counts = await Catalog.CountByKeyVersionAsync();
        Assert.Equal(3, counts.Count);
        Assert.Equal((3L, 1L, 1L), (counts[("key-a", 1)], counts[("key-a", 2)], counts[("key-b", 3)]));
        Assert.Equal([("another", "e", 1), (Bucket, "a/1", 2), (Bucket, "b/1", 1), (Bucket, "c", 1)], await Catalog.ObjectsUnderKeyAsync("key-a"));
        Assert.Equal([(Bucket, "a/1", 2)], await Catalog.ObjectsUnderKeyAsync("key-a", 2));

        Assert.Equal(3, await Catalog.CountBelowVersionAsync("key-a", 2, null));
        Assert.Equal(2, await Catalog.CountBelowVersionAsync("key-a", 2, Bucket));
        // Paged in (bucket, name) order after a position, as the rewrapper walks them.
        var first = await Catalog.ObjectsBelowVersionAsync("key-a", 2, null, null, 2);
        Assert.Equal([("another", "e"), (Bucket, "b/1")], first.Select(o => (o.Bucket, o.Name)));
        var rest = await Catalog.ObjectsBelowVersionAsync("key-a", 2, null, (first[^1].Bucket, first[^1].Name, first[^1].VersionId), 2);
        Assert.Equal([(Bucket, "c")], rest.Select(o => (o.Bucket, o.Name)));
        Assert.Equal(["b/1", "c"], (await Catalog.ObjectsBelowVersionAsync("key-a", 2, Bucket, null, 10)).Select(o => o.Name));
    }

    [Fact]
    public async Task A_wrapped_key_is_replaced_only_if_the_object_still_holds_the_expected_one()
    {
        var record = await PutAsync("k");
        var rewrapped = new WrappedKeyRef("key-a", 2, [42]);
        Assert.True(await Catalog.ReplaceWrappedKeyAsync(Bucket, "k", record.Key, rewrapped));
        var current = (await Catalog.GetObjectAsync(Bucket, "k"))!;
        Assert.Equal(2, current.Key.KeyVersion);
        Assert.Equal([42], current.Key.Wrapped);
        // Stale expectation (already replaced, or the object overwritten meanwhile): left alone.
        Assert.False(await Catalog.ReplaceWrappedKeyAsync(Bucket, "k", record.Key, new WrappedKeyRef("key-a", 3, [43])));
        await PutAsync("k", "overwritten");
        var fresh = (await Catalog.GetObjectAsync(Bucket, "k"))!.Key;
        Assert.False(await Catalog.ReplaceWrappedKeyAsync(Bucket, "k", rewrapped, new WrappedKeyRef("key-a", 3, [44])));
        Assert.Equal(fresh.Wrapped, (await Catalog.GetObjectAsync(Bucket, "k"))!.Key.Wrapped);
        Assert.False(await Catalog.ReplaceWrappedKeyAsync(Bucket, "missing", fresh, rewrapped));
    }

    // ---------------- multipart uploads ----------------

    private UploadRecord Upload(string id, string name) => new(id, Bucket, name, Time.GetUtcNow(), new WrappedKeyRef("key-a", 1, [5, 6]), [7, 8]);

    [Fact]
    public async Task Uploads_keep_their_state_and_list_by_name_then_creation()
    {
        var upload = Upload("u1", "photos/b");
        await Catalog.CreateUploadAsync(upload);
        var stored = (await Catalog.GetUploadAsync("u1"))!;
        Assert.Equal((upload.UploadId, upload.Bucket, upload.Name, upload.Created, upload.Key.KeyId, upload.Key.KeyVersion),
            (stored.UploadId, stored.Bucket, stored.Name, stored.Created, stored.Key.KeyId, stored.Key.KeyVersion));
        Assert.Equal(upload.Key.Wrapped, stored.Key.Wrapped);
        Assert.Equal(upload.SealedMetadata, stored.SealedMetadata);
        Assert.Null(await Catalog.GetUploadAsync("nope"));

        Time.Advance(TimeSpan.FromSeconds(1));
        await Catalog.CreateUploadAsync(Upload("u0", "photos/b"));
        await Catalog.CreateUploadAsync(Upload("u2", "photos/a"));
        await Catalog.CreateUploadAsync(Upload("u3", "photos/\u00e9"));
        await Catalog.CreateUploadAsync(Upload("u4", "photos/B"));
        await Catalog.CreateUploadAsync(Upload("u5", "videos/a"));
        Assert.Equal(["u4", "u2", "u1", "u0", "u3"], (await Catalog.ListUploadsAsync(Bucket, "photos/")).Select(u => u.UploadId));
        Assert.Equal(6, (await Catalog.ListUploadsAsync(Bucket, "")).Count);
        Assert.Empty(await Catalog.ListUploadsAsync("other", ""));
    }

    [Fact]
    public async Task Parts_are_listed_by_number_and_a_part_uploaded_again_makes_the_earlier_blob_garbage()
    {
        await Catalog.CreateUploadAsync(Upload("u", "mp"));
        var p2 = Part(2);
        var p1 = Part(1);
        await Catalog.RecordPendingBlobAsync(p2.Blob);
        Assert.True(await Catalog.PutUploadPartAsync("u", p2, Time.GetUtcNow()));
        Assert.True(await Catalog.PutUploadPartAsync("u", p1, Time.GetUtcNow()));
        Assert.Empty(await AllGarbageAsync()); // a recorded part's pending blob is no longer garbage
        var listed = await Catalog.ListUploadPartsAsync("u");
        Assert.Equal([1, 2], listed.Select(p => p.Part.Number));
        Assert.Equal(p1.Header, listed[0].Part.Header);
        Assert.Equal(Time.GetUtcNow(), listed[0].Modified);

        var again = Part(2, fill: 3);
        Assert.True(await Catalog.PutUploadPartAsync("u", again, Time.GetUtcNow()));
        Assert.Equal([p1.Blob, again.Blob], (await Catalog.ListUploadPartsAsync("u")).Select(p => p.Part.Blob));
        Assert.Equal([p2.Blob], await AllGarbageAsync());

        Assert.False(await Catalog.PutUploadPartAsync("missing", Part(1), Time.GetUtcNow()));
        Assert.Empty(await Catalog.ListUploadPartsAsync("missing"));
    }

    [Fact]
    public async Task Aborting_forgets_the_upload_and_makes_its_parts_garbage()
    {
        await Catalog.CreateUploadAsync(Upload("u", "mp"));
        var p1 = Part(1);
        await Catalog.PutUploadPartAsync("u", p1, Time.GetUtcNow());
        Assert.True(await Catalog.AbortUploadAsync("u"));
        Assert.Null(await Catalog.GetUploadAsync("u"));
        Assert.Empty(await Catalog.ListUploadPartsAsync("u"));
        Assert.Equal([p1.Blob], await AllGarbageAsync());
        Assert.False(await Catalog.AbortUploadAsync("u"));
        Assert.False(await Catalog.PutUploadPartAsync("u", Part(2), Time.GetUtcNow()));
    }

    [Fact]
    public async Task Completing_removes_the_upload_and_makes_the_parts_left_out_garbage()
    {
        await PutAsync("mp", "previous");
        var previous = (await Catalog.GetObjectAsync(Bucket, "mp"))!;
        await Catalog.CreateUploadAsync(Upload("u", "mp"));
        var (p1, p2, p3) = (Part(1), Part(2), Part(3));
        foreach (var p in new[] { p1, p2, p3 }) await Catalog.PutUploadPartAsync("u", p, Time.GetUtcNow());

        var record = Record("mp", "abc-2", parts: [p1, p3]);
        await Catalog.CommitObjectAsync(record, "u");
        AssertSame(record, await Catalog.GetObjectAsync(Bucket, "mp"));
        Assert.Null(await Catalog.GetUploadAsync("u"));
        Assert.Empty(await Catalog.ListUploadPartsAsync("u"));
        Assert.Equal(new[] { p2.Blob, previous.Parts[0].Blob, BlobMetadata.SidecarKey(previous.Parts[0].Blob), ObjectManifest.KeyOf(previous.Parts[0].Blob) }.Order(), (await AllGarbageAsync()).Order());
    }

    [Fact]
    public async Task A_completion_loses_to_an_abort_or_a_part_uploaded_again_meanwhile()
    {
        // The record was built from the parts listed before; another instance changed the upload since.
        var other = await OpenInstanceAsync(Time);
        await Catalog.CreateUploadAsync(Upload("u", "mp"));
        var p1 = Part(1);
        await Catalog.PutUploadPartAsync("u", p1, Time.GetUtcNow());
        var record = Record("mp", "abc-1", parts: [p1]);

        await other.PutUploadPartAsync("u", Part(1, fill: 9), Time.GetUtcNow());
        var e = await Assert.ThrowsAsync<ObjectStoreException>(() => Catalog.CommitObjectAsync(record, "u"));
        Assert.Equal(ObjectError.InvalidPart, e.Error);

        Assert.True(await other.AbortUploadAsync("u"));
        e = await Assert.ThrowsAsync<ObjectStoreException>(() => Catalog.CommitObjectAsync(record, "u"));
        Assert.Equal(ObjectError.NoSuchUpload, e.Error);
        Assert.Null(await Catalog.GetObjectAsync(Bucket, "mp"));
        // Both part blobs are garbage, and none of them is referenced: collecting them loses nothing.
        Assert.Contains(p1.Blob, await AllGarbageAsync());
    }

    [Fact]
    public async Task Two_instances_completing_one_upload_have_exactly_one_winner()
    {
        var other = await OpenInstanceAsync(Time);
        await Catalog.CreateUploadAsync(Upload("u", "mp"));
        var p1 = Part(1);
        await Catalog.PutUploadPartAsync("u", p1, Time.GetUtcNow());
        var results = await Task.WhenAll(new[] { Catalog, other }.Select(async (c, i) =>
        {
            await Task.Yield();
            try
            {
                await c.CommitObjectAsync(Record("mp", $"etag{i}", parts: [p1]), "u");
                return true;
            }
            catch (ObjectStoreException e) when (e.Error == ObjectError.NoSuchUpload)
            {
                return false;
            }
        }));
        Assert.Single(results, won => won);
        Assert.DoesNotContain(p1.Blob, await AllGarbageAsync());
    }

    // ---------------- garbage ----------------

    [Fact]
    public async Task Pending_blobs_are_dated_a_day_ahead_abandoned_ones_now_and_forgotten_ones_gone()
    {
        var grace = TimeSpan.FromMinutes(15);
        await Catalog.RecordPendingBlobAsync("objects/slow");
        await Catalog.RecordPendingBlobAsync("objects/failed");
        await Catalog.AbandonPendingBlobAsync("objects/failed");
        await Catalog.AbandonPendingBlobAsync("objects/never-recorded"); // nothing to date: stays unknown
        Assert.Empty(await Catalog.GarbageOlderThanAsync(Time.GetUtcNow()));
        Time.Advance(grace);
        Assert.Equal(["objects/failed"], await Catalog.GarbageOlderThanAsync(Time.GetUtcNow() - grace + TimeSpan.FromMilliseconds(1)));
        Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(new[] { "objects/failed", "objects/slow" }, (await Catalog.GarbageOlderThanAsync(Time.GetUtcNow())).Order());

        await Catalog.ForgetGarbageAsync("objects/failed");
        Assert.Equal(["objects/slow"], await AllGarbageAsync());
        // A committed pending blob is no longer garbage.
        var record = Record("committed");
        await Catalog.RecordPendingBlobAsync(record.Parts[0].Blob);
        await Catalog.CommitObjectAsync(record);
        Assert.Equal(["objects/slow"], await AllGarbageAsync());
    }

    // ---------------- an unavailable database ----------------

    [Fact]
    public async Task A_database_refusing_writes_fails_them_as_unavailable_changes_nothing_and_recovers()
    {
        var before = await PutAsync("kept", "before");
        await RefuseObjectWritesAsync(true);
        try
        {
            var e = await Assert.ThrowsAsync<ObjectStoreException>(() => Catalog.CommitObjectAsync(Record("kept", "after")));
            Assert.Equal(ObjectError.CatalogUnavailable, e.Error);
            Assert.DoesNotContain(RefusalText, e.Message, StringComparison.Ordinal); // the driver's words go to the log, not to clients
            Assert.Contains(RefusalText, e.InnerException!.Message, StringComparison.Ordinal);
            e = await Assert.ThrowsAsync<ObjectStoreException>(() => Catalog.CommitObjectAsync(Record("new", "after")));
            Assert.Equal(ObjectError.CatalogUnavailable, e.Error);
            // Nothing half-written: the old version, no garbage from the refused replacement, reads still answer.
            AssertSame(before, await Catalog.GetObjectAsync(Bucket, "kept"));
            Assert.Null(await Catalog.GetObjectAsync(Bucket, "new"));
            Assert.Empty(await AllGarbageAsync());
        }
        finally
        {
            await RefuseObjectWritesAsync(false);
        }
        await Catalog.CommitObjectAsync(Record("kept", "after"));
        Assert.Equal("after", (await Catalog.GetObjectAsync(Bucket, "kept"))!.ETag);
    }
}
