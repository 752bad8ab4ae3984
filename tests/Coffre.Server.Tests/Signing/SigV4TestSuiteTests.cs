using Coffre.Server.Signing;

namespace Coffre.Server.Tests.Signing;

/// <summary>Cases of the aws-sig-v4-test-suite (service "service", AKIDEXAMPLE, 20150830T123600Z).</summary>
public class SigV4TestSuiteTests
{
    private static readonly DateTimeOffset SuiteTime = new(2015, 8, 30, 12, 36, 0, TimeSpan.Zero);

    private static SigV4Verifier Verifier()
        => new(new StaticCredentialStore("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            TestSigner.Clock(SuiteTime), SigV4Verifier.DefaultAllowedSkew, ["service"]);

    private static SigV4Request Request(string method, string path, string query, string signedHeaders, string signature, string[] headers, string? bodyHash = null)
    {
        var h = new SigV4Headers().Add("Host", "example.amazonaws.com").Add("X-Amz-Date", "20150830T123600Z");
        foreach (var line in headers)
        {
            var colon = line.IndexOf(':');
            h.Add(line[..colon], line[(colon + 1)..]);
        }
        h.Add("Authorization", $"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders={signedHeaders}, Signature={signature}");
        // The server hashes the body of a non-S3 request itself; a case that sends x-amz-content-sha256 sends the body's hash.
        return new SigV4Request(method, path, query, h) { PayloadHash = bodyHash ?? h.GetFirst("x-amz-content-sha256") ?? SigV4Canonicalizer.EmptyPayloadSha256 };
    }

    [Theory]
    [InlineData("get-vanilla", "GET", "/", "", "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", new string[0])]
    [InlineData("get-vanilla-query-order-key-case", "GET", "/", "Param2=value2&Param1=value1", "host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500", new string[0])]
    [InlineData("get-vanilla-query-order-encoded", "GET", "/", "Param-3=Value3&Param=Value2&%E1%88%B4=Value1", "host;x-amz-date", "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac", new string[0])]
    [InlineData("get-vanilla-query-unreserved", "GET", "/", "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "host;x-amz-date", "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197", new string[0])]
    [InlineData("get-vanilla-utf8-query", "GET", "/", "ሴ=bar", "host;x-amz-date", "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04", new string[0])]
    [InlineData("get-unreserved", "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "", "host;x-amz-date", "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f", new string[0])]
    [InlineData("get-utf8", "GET", "/ሴ", "", "host;x-amz-date", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85", new string[0])]
    [InlineData("get-space", "GET", "/example space/", "", "host;x-amz-date", "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741", new string[0])]
    [InlineData("get-header-key-duplicate", "GET", "/", "", "host;my-header1;x-amz-date", "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea", new[] { "My-Header1:value2", "My-Header1:value2", "My-Header1:value1" })]
    [InlineData("get-header-value-order", "GET", "/", "", "host;my-header1;x-amz-date", "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01", new[] { "My-Header1:value4", "My-Header1:value1", "My-Header1:value3", "My-Header1:value2" })]
    [InlineData("get-header-value-trim", "GET", "/", "", "host;my-header1;my-header2;x-amz-date", "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736", new[] { "My-Header1: value1", "My-Header2: \"a   b   c\"" })]
    [InlineData("get-vanilla-with-session-token", "GET", "/", "", "host;x-amz-date;x-amz-security-token", "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8", new[] { "X-Amz-Security-Token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267" })]
    [InlineData("post-vanilla", "POST", "/", "", "host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b", new string[0])]
    [InlineData("post-vanilla-query", "POST", "/", "Param1=value1", "host;x-amz-date", "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11", new string[0])]
    [InlineData("post-header-value-case", "POST", "/", "", "host;my-header1;x-amz-date", "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d", new[] { "My-Header1:VALUE1" })]
    [InlineData("post-x-www-form-urlencoded (aws-c-auth)", "POST", "/", "", "content-length;content-type;host;x-amz-content-sha256;x-amz-date", "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b", new[] { "Content-Type:application/x-www-form-urlencoded", "Content-Length:13", "x-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e" })]
    public void Case_Verifies(string name, string method, string path, string query, string signedHeaders, string signature, string[] headers)
    {
        var result = Verifier().Verify(Request(method, path, query, signedHeaders, signature, headers));
        Assert.True(result.IsSuccess, $"{name}: {result}\n{result.CanonicalRequest}");
        Assert.Equal("service", result.Context!.Service);

        var tampered = Verifier().Verify(Request(method, path, query, signedHeaders, (signature[0] == '0' ? "1" : "0") + signature[1..], headers));
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, tampered.Error);
    }

    [Fact]
    public void PostForm_BodyHashSignedButNotSent_CallerSuppliesIt()
    {
        // Original suite: the body "Param1=value1" is signed via its hash, no x-amz-content-sha256 (like KMS requests).
        var body = "Param1=value1"u8.ToArray();
        var request = Request("POST", "/", "", "content-type;host;x-amz-date", "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
            ["Content-Type:application/x-www-form-urlencoded"], SigV4Canonicalizer.Sha256Hex(body));
        Assert.True(SigV4Verifier.RequiresBodyHash(request));
        var result = Verifier().Verify(request);
        Assert.True(result.IsSuccess, result.ToString());
        Assert.Equal(PayloadMode.PrecomputedHash, result.Context!.PayloadMode);

        var otherBody = Request("POST", "/", "", "content-type;host;x-amz-date", "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
            ["Content-Type:application/x-www-form-urlencoded"], SigV4Canonicalizer.Sha256Hex("Param1=value2"u8));
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, Verifier().Verify(otherBody).Error);
    }

    [Theory]
    [InlineData("/example/..", true, "/example/..")]
    [InlineData("/example/..", false, "/")]
    [InlineData("//example//", true, "//example//")]
    [InlineData("//example//", false, "/example/")]
    [InlineData("/./example", false, "/example")]
    [InlineData("/example space/", false, "/example%20space/")]
    [InlineData("/a%20b", false, "/a%2520b")]
    [InlineData("/a%20b", true, "/a%20b")]
    [InlineData("/a+b%2fc%7e", true, "/a%2Bb%2Fc~")]
    [InlineData("/b/k%C3%A9y$", true, "/b/k%C3%A9y%24")]
    [InlineData("", true, "/")]
    public void CanonicalUri(string raw, bool s3, string expected) => Assert.Equal(expected, SigV4Canonicalizer.CanonicalUri(raw, s3));

    [Theory]
    [InlineData("", "")]
    [InlineData("lifecycle", "lifecycle=")]
    [InlineData("b=2&a=1&a=0", "a=0&a=1&b=2")]
    [InlineData("prefix=a+b/c&x=%c3%a9", "prefix=a%20b%2Fc&x=%C3%A9")]
    [InlineData("k=v%2B&&e=", "e=&k=v%2B")]
    [InlineData("key=é*'()!", "key=%C3%A9%2A%27%28%29%21")]
    public void CanonicalQuery(string raw, string expected) => Assert.Equal(expected, SigV4Canonicalizer.CanonicalQuery(raw));
}
