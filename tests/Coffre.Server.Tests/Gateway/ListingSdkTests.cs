using System.Net;
using System.Text;
using Amazon.S3;
using Amazon.S3.Model;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>ListObjectsV2 and V1 through AWSSDK.S3: prefix, delimiter, start-after, pagination, encoding-type=url.</summary>
public sealed class ListingSdkTests(ListingSdkTests.Fixture fixture) : IClassFixture<ListingSdkTests.Fixture>
{
    public const string Bucket = "listing";

    public static readonly string[] Keys =
    [
        "a/1", "a/2", "a/3", "a/sub/1", "a/sub/2", "b", "b/1", "c/x/1", "c/x/2", "c/y/1",
        "d", "e/1", "e/2", "e/3", "e/4", "f", "g/1", "h", "i/i/i", "j",
    ];

    public sealed class Fixture : IAsyncLifetime
    {
        public GatewayServer Gateway { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Gateway = await GatewayServer.StartAsync();
            using var s3 = Gateway.CreateClient();
            await s3.PutBucketAsync(Bucket);
            foreach (var k in Keys) await s3.PutBytesAsync(Bucket, k, Encoding.UTF8.GetBytes(k));
        }

        public async Task DisposeAsync() => await Gateway.DisposeAsync();
    }

    private static readonly StringComparer Utf8Order = new Utf8Comparer();

    private sealed class Utf8Comparer : StringComparer
    {
        public override int Compare(string? x, string? y) => Encoding.UTF8.GetBytes(x!).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(y!));
        public override bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.Ordinal);
        public override int GetHashCode(string obj) => obj.GetHashCode(StringComparison.Ordinal);
    }

    /// <summary>What S3 returns for prefix/delimiter/start-after, computed naively.</summary>
    private static List<string> Expected(IEnumerable<string> keys, string prefix, string? delimiter, string? startAfter = null)
    {
        var result = new SortedSet<string>(Utf8Order);
        foreach (var k in keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)))
        {
            if (startAfter is not null && Utf8Order.Compare(k, startAfter) <= 0) continue;
            var cut = delimiter is null ? -1 : k.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal);
            result.Add(cut < 0 ? k : k[..(cut + delimiter!.Length)]);
        }
        return [.. result];
    }

    private async Task<(List<string> Items, int Pages)> PageV2(string prefix, string? delimiter, int maxKeys, string? startAfter = null)
    {
        using var s3 = fixture.Gateway.CreateClient();
        var items = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await s3.ListObjectsV2Async(new ListObjectsV2Request
            {
                BucketName = Bucket, Prefix = prefix, Delimiter = delimiter, MaxKeys = maxKeys, ContinuationToken = token,
                StartAfter = startAfter,
            });
            pages++;
            var count = (page.S3Objects?.Count ?? 0) + (page.CommonPrefixes?.Count ?? 0);
            Assert.True(count <= maxKeys, $"page {pages} has {count} entries");
            Assert.Equal(count, page.KeyCount);
            items.AddRange(page.S3Objects?.Select(o => o.Key) ?? []);
            items.AddRange(page.CommonPrefixes ?? []);
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
            if (page.IsTruncated == true) Assert.NotNull(token);
            Assert.True(pages < 50, "listing does not terminate");
        } while (token is not null);
        items.Sort(Utf8Order);
        return (items, pages);
    }

    [Theory]
    [InlineData("", null)]
    [InlineData("", "/")]
    [InlineData("a/", "/")]
    [InlineData("c/", "/")]
    [InlineData("e", null)]
    [InlineData("zzz", "/")]
    public async Task V2_pages_of_three_cover_every_key_and_common_prefix_once(string prefix, string? delimiter)
    {
        var (items, _) = await PageV2(prefix, delimiter, 3);
        Assert.Equal(Expected(Keys, prefix, delimiter), items);
    }

    [Fact]
    public async Task V2_with_start_after()
    {
        var (items, _) = await PageV2("", null, 3, startAfter: "c/x/2");
        Assert.Equal(Expected(Keys, "", null, "c/x/2"), items);
        var (rolled, _) = await PageV2("", "/", 3, startAfter: "b/1");
        Assert.Equal(Expected(Keys, "", "/", "b/1"), rolled);
    }

    [Fact]
    public async Task V2_common_prefixes_spanning_page_boundaries_are_not_repeated()
    {
        using var s3 = fixture.Gateway.CreateClient();
        var seen = new List<string>();
        string? token = null;
        do
        {
            var page = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket, Delimiter = "/", MaxKeys = 1, ContinuationToken = token });
            seen.AddRange(page.S3Objects?.Select(o => o.Key) ?? []);
            seen.AddRange(page.CommonPrefixes ?? []);
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        } while (token is not null);
        Assert.Equal(Expected(Keys, "", "/"), seen);
    }

    [Theory]
    [InlineData("", null)]
    [InlineData("", "/")]
    [InlineData("e/", null)]
    public async Task V1_pages_with_marker(string prefix, string? delimiter)
    {
        using var s3 = fixture.Gateway.CreateClient();
        var items = new List<string>();
        string? marker = null;
        var pages = 0;
        while (true)
        {
            var page = await s3.ListObjectsAsync(new ListObjectsRequest { BucketName = Bucket, Prefix = prefix, Delimiter = delimiter, MaxKeys = 3, Marker = marker });
            pages++;
            var keys = page.S3Objects?.Select(o => o.Key).ToList() ?? [];
            var prefixes = page.CommonPrefixes ?? [];
            Assert.True(keys.Count + prefixes.Count <= 3);
            items.AddRange(keys);
            items.AddRange(prefixes);
            if (page.IsTruncated != true) break;
            // S3: NextMarker is returned with a delimiter; without one the client uses the last key.
            marker = page.NextMarker ?? keys.Concat(prefixes).Max(Utf8Order);
            Assert.True(pages < 50);
        }
        items.Sort(Utf8Order);
        Assert.Equal(Expected(Keys, prefix, delimiter), items);
    }

    public static readonly string[] OddKeys = ["odd/with space", "odd/plus+sign", "odd/100%", "odd/ünïcødé/é", "odd/a&b<c>", "odd/tab\there", "odd/question?mark"];

    [Fact]
    public async Task Encoding_type_url_round_trips_odd_keys()
    {
        using var s3 = fixture.Gateway.CreateClient();
        await s3.PutBucketAsync("listing-odd");
        foreach (var k in OddKeys) await s3.PutBytesAsync("listing-odd", k, Encoding.UTF8.GetBytes(k));
        foreach (var k in OddKeys) Assert.Equal(Encoding.UTF8.GetBytes(k), await s3.GetBytesAsync("listing-odd", k));

        var listed = new List<string>();
        string? token = null;
        do
        {
            var page = await s3.ListObjectsV2Async(new ListObjectsV2Request
            {
                BucketName = "listing-odd", Prefix = "odd/", Encoding = EncodingType.Url, MaxKeys = 2, ContinuationToken = token,
            });
            // Asked for explicitly, the encoding is left to the caller to undo (as S3 does it: form-style, '+' for space).
            listed.AddRange(page.S3Objects.Select(o => WebUtility.UrlDecode(o.Key)));
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        } while (token is not null);
        Assert.Equal(OddKeys.Order(Utf8Order), listed);

        var delimited = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "listing-odd", Prefix = "odd/", Delimiter = "/", Encoding = EncodingType.Url });
        Assert.Equal(["odd/ünïcødé/"], delimited.CommonPrefixes.Select(WebUtility.UrlDecode));

        // On the wire, the keys are percent-encoded (so XML-hostile characters survive).
        using var raw = await SendSignedAsync(fixture.Gateway, HttpMethod.Get, "/listing-odd?list-type=2&encoding-type=url&prefix=odd%2Fplus");
        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        var xml = await raw.Content.ReadAsStringAsync();
        Assert.Contains("<Key>odd/plus%2Bsign</Key>", xml);
        Assert.Contains("<EncodingType>url</EncodingType>", xml);
    }

    [Fact]
    public async Task Listing_order_is_utf8_byte_order()
    {
        using var s3 = fixture.Gateway.CreateClient();
        await s3.PutBucketAsync("listing-utf8");
        // UTF-16 order puts the emoji (surrogates D83D..) before U+FF21; UTF-8 byte order (S3's) puts it after.
        string[] keys = ["\uFF21", "\U0001F600", "z", "é"];
        foreach (var k in keys) await s3.PutBytesAsync("listing-utf8", k, [1]);
        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "listing-utf8" });
        Assert.Equal(["z", "é", "\uFF21", "\U0001F600"], listed.S3Objects.Select(o => o.Key));
        var after = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "listing-utf8", StartAfter = "\uFF21" });
        Assert.Equal(["\U0001F600"], after.S3Objects.Select(o => o.Key));
        var none = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "listing-utf8", Prefix = "\uFF21", StartAfter = "\U0001F600" });
        Assert.True(none.S3Objects is null || none.S3Objects.Count == 0);
    }
}
