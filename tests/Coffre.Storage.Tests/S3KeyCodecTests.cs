using System.Text;

namespace Coffre.Storage.Tests;

public class S3KeyCodecTests
{
    private static readonly char[] Alphabet = "aZ09._-/%+ \\\0\téü日🙂".ToCharArray();

    private static IEnumerable<string> RandomKeys(int count, int seed)
    {
        var rng = new Random(seed);
        var runes = new List<string>();
        for (var i = 0; i < Alphabet.Length; i++)
        {
            if (char.IsHighSurrogate(Alphabet[i])) { runes.Add(new string(Alphabet, i, 2)); i++; }
            else runes.Add(Alphabet[i].ToString());
        }
        for (var i = 0; i < count; i++)
        {
            var sb = new StringBuilder();
            var len = rng.Next(1, 12);
            for (var j = 0; j < len; j++) sb.Append(runes[rng.Next(runes.Count)]);
            yield return sb.ToString();
        }
    }

    [Theory]
    [InlineData("objects/b1/abc", "objects/b1/abc")]
    [InlineData("uploads/u-1/00001", "uploads/u-1/00001")]
    [InlineData("..", "%2E%2E")]
    [InlineData(".", "%2E")]
    [InlineData("a/../../b", "a/%2E%2E/%2E%2E/b")]
    [InlineData("/lead", "%2Flead")]
    [InlineData("trail/", "trail%2F")]
    [InlineData("a//b", "a%2F%2Fb")]
    [InlineData("..x/.y", "..x/.y")]
    [InlineData("%2F", "%252F")]
    [InlineData("a b+c", "a%20b%2Bc")]
    [InlineData("é", "%C3%A9")]
    public void Encodes_as_documented(string key, string encoded)
    {
        Assert.Equal(encoded, S3KeyCodec.Encode(key));
        Assert.True(S3KeyCodec.TryDecode(encoded, out var decoded));
        Assert.Equal(key, decoded);
    }

    [Fact]
    public void Random_keys_round_trip_and_encode_to_safe_paths()
    {
        foreach (var key in RandomKeys(5000, 1))
        {
            var encoded = S3KeyCodec.Encode(key);
            Assert.Matches("^[A-Za-z0-9._%/-]+$", encoded);
            Assert.DoesNotContain("//", encoded);
            Assert.False(encoded.StartsWith('/') || encoded.EndsWith('/'), encoded);
            Assert.All(encoded.Split('/'), seg => Assert.False(seg is "." or ".." or "", encoded));
            Assert.True(S3KeyCodec.TryDecode(encoded, out var decoded));
            Assert.Equal(key, decoded);
        }
    }

    [Fact]
    public void Listing_prefix_is_a_prefix_of_every_matching_encoded_key()
    {
        foreach (var key in RandomKeys(3000, 2))
        {
            var encoded = S3KeyCodec.Encode(key);
            for (var i = 1; i <= key.Length; i++)
            {
                if (i < key.Length && char.IsLowSurrogate(key[i])) continue; // do not split a surrogate pair
                var prefix = key[..i];
                Assert.StartsWith(S3KeyCodec.ListingPrefix(prefix), encoded, StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [InlineData("not encoded")]
    [InlineData("%2")]
    [InlineData("%zz")]
    [InlineData("a/./b")]
    [InlineData("%61")] // non-canonical: "a" is never escaped
    [InlineData("")]
    public void Foreign_object_keys_do_not_decode(string objectKey) =>
        Assert.False(S3KeyCodec.TryDecode(objectKey, out _));
}

public class S3BlobStoreOptionsTests
{
    private static S3BlobStoreOptions Valid() => new()
    {
        Endpoint = "https://s3.gra.io.cloud.ovh.net",
        Region = "gra",
        Bucket = "coffre-data",
        AccessKeyId = "AK",
        SecretAccessKey = "SK",
    };

    [Fact]
    public void A_complete_configuration_is_valid() => Assert.Empty(Valid().Validate());

    [Fact]
    public void An_empty_configuration_lists_every_missing_setting()
    {
        var errors = new S3BlobStoreOptions().Validate();
        Assert.Contains(errors, e => e.StartsWith("Endpoint: required"));
        Assert.Contains(errors, e => e.StartsWith("Bucket: required"));
        Assert.Contains(errors, e => e.StartsWith("AccessKeyId: required"));
        Assert.Contains(errors, e => e.StartsWith("SecretAccessKey: required"));
    }

    [Theory]
    [InlineData("ftp://x", "not an absolute http")]
    [InlineData("s3.example.com", "not an absolute http")]
    [InlineData("https://s3.example.com/bucket", "must not have a path")]
    [InlineData("https://s3.example.com/?x=1", "query")]
    [InlineData("http://s3.example.com", "plain http")]
    public void Bad_endpoints_are_explained(string endpoint, string expected)
    {
        var o = Valid();
        o.Endpoint = endpoint;
        Assert.Contains(o.Validate(), e => e.StartsWith("Endpoint:") && e.Contains(expected));
    }

    [Fact]
    public void Plain_http_is_fine_on_loopback_or_when_allowed()
    {
        var o = Valid();
        o.Endpoint = "http://127.0.0.1:9000";
        Assert.Empty(o.Validate());
        o.Endpoint = "http://minio.internal:9000";
        o.AllowInsecureHttp = true;
        Assert.Empty(o.Validate());
    }

    [Theory]
    [InlineData("Upper")]
    [InlineData("ab")]
    [InlineData("a..b")]
    [InlineData("-lead")]
    [InlineData("192.168.1.1")]
    [InlineData("under_score")]
    public void Bad_bucket_names_are_rejected(string bucket)
    {
        var o = Valid();
        o.Bucket = bucket;
        Assert.Contains(o.Validate(), e => e.StartsWith("Bucket:"));
    }

    [Theory]
    [InlineData("noslash", "must end with '/'")]
    [InlineData("/abs/", "must not start with '/'")]
    [InlineData("a//b/", "empty")]
    [InlineData("a/../", "'..'")]
    [InlineData("sp ace/", "printable ASCII")]
    public void Bad_key_prefixes_are_explained(string prefix, string expected)
    {
        var o = Valid();
        o.KeyPrefix = prefix;
        Assert.Contains(o.Validate(), e => e.StartsWith("KeyPrefix:") && e.Contains(expected));
    }

    [Fact]
    public void Part_size_must_be_within_bounds()
    {
        var o = Valid();
        o.PartSize = 1024;
        Assert.Contains(o.Validate(), e => e.StartsWith("PartSize:"));
    }

    [Fact]
    public void The_store_constructor_refuses_an_invalid_configuration_with_all_reasons()
    {
        var e = Assert.Throws<ArgumentException>(() => new S3BlobStore(new S3BlobStoreOptions { Name = "ovh" }));
        Assert.Contains("'ovh'", e.Message);
        Assert.Contains("Endpoint:", e.Message);
        Assert.Contains("Bucket:", e.Message);
    }

    [Fact]
    public void Describe_never_shows_the_secret()
    {
        var o = Valid();
        o.SecretAccessKey = "very-secret-value";
        using var store = new S3BlobStore(o);
        Assert.DoesNotContain("very-secret-value", store.Describe());
        Assert.Contains("coffre-data", store.Describe());
    }
}
