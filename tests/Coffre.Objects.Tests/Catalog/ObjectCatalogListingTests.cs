using System.Text;
using Coffre.Objects.Catalog;
using Coffre.Objects.Keys;

namespace Coffre.Objects.Tests.Catalog;

/// <summary>ObjectCatalog.ListObjects: S3 listing semantics over the catalog alone.</summary>
public sealed class ObjectCatalogListingTests : IDisposable
{
    private readonly TestStore _store = new();
    private ObjectCatalog Catalog => _store.Catalog;

    public void Dispose() => _store.Dispose();

    private static int Utf8Compare(string a, string b) => Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b));

    private void Add(string bucket, params string[] names)
    {
        if (Catalog.GetBucket(bucket) is null) Catalog.TryCreateBucket(new BucketRecord(bucket, "test-key", DateTimeOffset.UnixEpoch));
        foreach (var n in names)
            Catalog.CommitObject(new ObjectRecord(bucket, n, 1, "etag", DateTimeOffset.UnixEpoch, new WrappedKeyRef("test-key", 1, [1]), [],
                [new StoredPart(0, "objects/" + Guid.NewGuid().ToString("N"), 1, 89, new byte[72], "00", null)]));
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
    private List<string> PageThrough(string bucket, string prefix, string? delimiter, string? startAfter, int maxKeys)
    {
        var all = new List<string>();
        var marker = startAfter;
        for (var pages = 0; ; pages++)
        {
            Assert.True(pages < 1000, "listing does not terminate");
            var page = Catalog.ListObjects(bucket, prefix, delimiter, marker, maxKeys);
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

    public static TheoryData<string, string?, string?, int> Cases()
    {
        var data = new TheoryData<string, string?, string?, int>();
        foreach (var (prefix, delimiter) in new[] { ("", (string?)null), ("", "/"), ("a/", "/"), ("a/", null), ("c/", "/"), ("e", null), ("zz", "/"), ("a/sub/", "/") })
            foreach (var startAfter in new[] { null, "", "a/2", "a/sub/1", "b", "c/", "0", "zzz" })
                foreach (var maxKeys in new[] { 1, 2, 3, 1000 })
                    data.Add(prefix, delimiter, startAfter, maxKeys);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Paging_matches_the_reference_listing(string prefix, string? delimiter, string? startAfter, int maxKeys)
    {
        Add("b1", Keys);
        var expected = Expected(Keys, prefix, delimiter, startAfter);
        // A start-after inside a rolled-up prefix: S3 skips the rest of that prefix (it was already returned).
        if (delimiter is not null && startAfter is not null && startAfter.StartsWith(prefix, StringComparison.Ordinal)
            && startAfter.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal) is var i && i >= 0)
            expected.Remove(startAfter[..(i + delimiter.Length)]);
        Assert.Equal(expected, PageThrough("b1", prefix, delimiter, startAfter, maxKeys));
    }

    [Fact]
    public void Common_prefixes_spanning_pages_are_returned_once()
    {
        var keys = Enumerable.Range(0, 30).Select(i => $"big/{i:D2}").Concat(["a", "big0", "c/1", "c/2", "d"]).ToArray();
        Add("b2", keys);
        Assert.Equal(["a", "big/", "big0", "c/", "d"], PageThrough("b2", "", "/", null, 1));
        Assert.Equal(["a", "big/", "big0", "c/", "d"], PageThrough("b2", "", "/", null, 2));
        var page = Catalog.ListObjects("b2", "", "/", null, 2);
        Assert.True(page.IsTruncated);
        Assert.Equal("big/", page.NextMarker);
    }

    [Fact]
    public void A_full_last_page_is_not_truncated()
    {
        Add("b3", "x", "y", "z");
        var page = Catalog.ListObjects("b3", "", null, null, 3);
        Assert.False(page.IsTruncated);
        Assert.Null(page.NextMarker);
        var rolled = Catalog.ListObjects("b3", "", "/", null, 3);
        Assert.False(rolled.IsTruncated);
        Assert.Empty(Catalog.ListObjects("b3", "", null, null, 0).Entries);
    }

    [Fact]
    public void Order_and_start_after_are_utf8_byte_order()
    {
        // UTF-16 ordinal: "\U0001F600" (D83D DE00) < "\uFF21" < ...; UTF-8 (S3's order): "é" (C3) < "\uFF21" (EF) < "\U0001F600" (F0).
        string[] keys = ["\uFF21", "\uFF21\uFF21", "\U0001F600", "z", "é", "\uE000"];
        Add("b4", keys);
        var expected = keys.ToList();
        expected.Sort(Utf8Compare);
        Assert.Equal(["z", "é", "\uE000", "\uFF21", "\uFF21\uFF21", "\U0001F600"], expected);
        Assert.Equal(expected, PageThrough("b4", "", null, null, 1));
        Assert.Equal(["\U0001F600"], PageThrough("b4", "", null, "\uFF21\uFF21", 2));
        // A start-after beyond the prefix (in UTF-8 order, though not in UTF-16 order) leaves nothing.
        Assert.Empty(PageThrough("b4", "\uFF21", null, "\U0001F600", 10));
        // A start-after before the prefix starts at the prefix.
        Assert.Equal(["\uFF21", "\uFF21\uFF21"], PageThrough("b4", "\uFF21", null, "\uE000", 10));
    }

    [Fact]
    public void Multi_character_delimiters_and_buckets_are_separate()
    {
        Add("b5", "x--1", "x--2", "y", "x-3");
        Add("b6", "other");
        Assert.Equal(["x--", "x-3", "y"], PageThrough("b5", "", "--", null, 1));
        Assert.Equal(["other"], PageThrough("b6", "", null, null, 5));
    }
}
