using System.Globalization;
using System.Text.Json;
using Coffre.Server.Signing;
using Coffre.TestSupport;
using static Coffre.Server.Tests.Signing.TestSigner;

namespace Coffre.Server.Tests.Signing;

/// <summary>
/// <see cref="SigV2Verifier"/> against testdata/vectors/sigv2-v1.json (the S3 developer guide's worked SigV2 examples,
/// also checked by tools/verify_sigv2_vectors.py), and S3's answer to each way a SigV2 request fails.
/// </summary>
public class SigV2VerifierTests
{
    public static TheoryData<string> VectorNames() => [.. Vectors().Select(v => v.GetProperty("name").GetString()!)];

    private static IEnumerable<JsonElement> Vectors()
    {
        var path = Path.Combine(Tools.FindRepositoryRoot()!, "testdata", "vectors", "sigv2-v1.json");
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement.GetProperty("vectors").EnumerateArray().ToList();
    }

    private static SigV2Verifier Verifier(DateTimeOffset now) => new(new StaticCredentialStore(DocAccessKey, DocSecret), Clock(now), "us-east-1");

    /// <summary>The vector's request, signed with <paramref name="signature"/> (header form, unless the vector is presigned).</summary>
    private static (SigV4Request Request, string? HostBucket, DateTimeOffset Now) Request(JsonElement v, string? signature = null)
    {
        var headers = new SigV4Headers();
        foreach (var pair in v.GetProperty("headers").EnumerateArray()) headers.Add(pair[0].GetString()!, pair[1].GetString()!);
        var query = v.GetProperty("query").GetString()!;
        signature ??= v.GetProperty("signature").GetString()!;
        if (query.Contains("Signature=", StringComparison.Ordinal))
        {
            if (signature != v.GetProperty("signature").GetString())
                query = query.Replace(Uri.EscapeDataString(v.GetProperty("signature").GetString()!), Uri.EscapeDataString(signature), StringComparison.Ordinal);
        }
        else
        {
            headers.Add("Authorization", $"AWS {DocAccessKey}:{signature}");
        }
        var now = DateTimeOffset.Parse(v.GetProperty("server_time").GetString()!, CultureInfo.InvariantCulture);
        return (new SigV4Request(v.GetProperty("method").GetString()!, v.GetProperty("path").GetString()!, query, headers),
            v.GetProperty("host_bucket").GetString(), now);
    }

    private static JsonElement Vector(string name) => Vectors().Single(v => v.GetProperty("name").GetString() == name);

    [Theory]
    [MemberData(nameof(VectorNames))]
    public void Each_vector_verifies(string name)
    {
        var (request, bucket, now) = Request(Vector(name));
        Assert.True(SigV2Verifier.Claims(request));
        var result = Verifier(now).Verify(request, bucket);
        Assert.True(result.IsSuccess, result.ToString());
        Assert.Equal(DocAccessKey, result.Context!.AccessKeyId);
        Assert.Equal("s3", result.Context.Service);
        Assert.Equal(2, result.Context.SignatureVersion);
        Assert.Equal(PayloadMode.Unsigned, result.Context.PayloadMode);
    }

    [Theory]
    [MemberData(nameof(VectorNames))]
    public void A_wrong_signature_shows_the_vectors_string_to_sign(string name)
    {
        var v = Vector(name);
        var (request, bucket, now) = Request(v, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        var result = Verifier(now).Verify(request, bucket);
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, result.Error);
        Assert.Equal(v.GetProperty("string_to_sign").GetString(), result.StringToSign);
        Assert.Equal("AAAAAAAAAAAAAAAAAAAAAAAAAAA=", result.SignatureProvided);
        Assert.Null(result.CanonicalRequest);
        Assert.DoesNotContain(DocSecret, result.ToString());
    }

    [Fact]
    public void String_to_sign_bytes_are_hex_pairs_as_S3_shows_them()
        => Assert.Equal("47 45 54 0a c3 a9", SigV2Canonicalizer.Bytes("GET\né"));

    [Fact]
    public void The_signature_is_checked_whole()
    {
        var (request, bucket, now) = Request(Vector("object-get"), "bWq2s1WEIj+Ydj0vQ697zp+IXMU");
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, Verifier(now).Verify(request, bucket).Error);
    }

    [Fact]
    public void The_host_bucket_is_signed()
    {
        // The same path signed for virtual-hosted "johnsmith" does not verify as path style.
        var (request, _, now) = Request(Vector("object-get"));
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, Verifier(now).Verify(request, null).Error);
    }

    [Fact]
    public void An_unknown_access_key_is_InvalidAccessKeyId()
    {
        var (request, bucket, now) = Request(Vector("object-get"));
        request.Headers.Set("Authorization", "AWS AKIANOBODY0000000000:bWq2s1WEIj+Ydj0vQ697zp+IXMU=");
        var result = Verifier(now).Verify(request, bucket);
        Assert.Equal(SigV4Error.InvalidAccessKeyId, result.Error);
        Assert.Equal((403, "InvalidAccessKeyId"), (result.Error.ToS3HttpStatus(), result.Error.ToS3Code()));
    }

    [Fact]
    public void A_request_more_than_15_minutes_off_is_RequestTimeTooSkewed()
    {
        var (request, bucket, now) = Request(Vector("object-get"));
        Assert.True(Verifier(now.AddMinutes(14)).Verify(request, bucket).IsSuccess);
        Assert.True(Verifier(now.AddMinutes(-14)).Verify(request, bucket).IsSuccess);
        var late = Verifier(now.AddMinutes(16)).Verify(request, bucket);
        Assert.Equal(SigV4Error.RequestTimeTooSkewed, late.Error);
        Assert.Equal(403, late.Error.ToS3HttpStatus());
        Assert.Equal(SigV4Error.RequestTimeTooSkewed, Verifier(now.AddMinutes(-16)).Verify(request, bucket).Error);
    }

    [Fact]
    public void X_amz_date_is_the_request_time_when_sent()
    {
        var (request, bucket, now) = Request(Vector("delete-x-amz-date"));
        request.Headers.Add("Date", "Mon, 01 Jan 2001 00:00:00 GMT"); // ignored, as the guide says
        Assert.True(Verifier(now).Verify(request, bucket).IsSuccess);
    }

    [Fact]
    public void A_request_without_a_date_is_AccessDenied()
    {
        var (request, bucket, now) = Request(Vector("object-get"));
        request.Headers.Remove("Date");
        var result = Verifier(now).Verify(request, bucket);
        Assert.Equal(SigV4Error.AccessDenied, result.Error);
        Assert.Contains("Date or x-amz-date", result.Message);
    }

    [Theory]
    [InlineData("AWS AKIAIOSFODNN7EXAMPLE")]
    [InlineData("AWS :sig")]
    [InlineData("AWS AKIAIOSFODNN7EXAMPLE:")]
    public void A_malformed_header_is_InvalidArgument(string authorization)
    {
        var (request, bucket, now) = Request(Vector("object-get"));
        request.Headers.Set("Authorization", authorization);
        var result = Verifier(now).Verify(request, bucket);
        Assert.Equal(SigV4Error.InvalidArgument, result.Error);
        Assert.Equal(400, result.Error.ToS3HttpStatus());
    }

    [Fact]
    public void An_expired_presigned_url_is_AccessDenied_Request_has_expired()
    {
        var (request, bucket, _) = Request(Vector("presigned-get"));
        var expires = DateTimeOffset.FromUnixTimeSeconds(1175139620);
        Assert.True(Verifier(expires).Verify(request, bucket).IsSuccess);
        var result = Verifier(expires.AddSeconds(1)).Verify(request, bucket);
        Assert.Equal(SigV4Error.AccessDenied, result.Error);
        Assert.Equal("Request has expired", result.Message);
    }

    [Theory]
    [InlineData("AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D")]
    [InlineData("AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=soon")]
    public void A_presigned_url_without_a_valid_expiry_is_AccessDenied(string query)
    {
        var request = new SigV4Request("GET", "/photos/puppy.jpg", query, new SigV4Headers().Add("Host", "johnsmith.s3.amazonaws.com"));
        Assert.Equal(SigV4Error.AccessDenied, Verifier(DocTime).Verify(request, "johnsmith").Error);
    }

    [Fact]
    public void Header_and_query_signatures_together_are_InvalidArgument()
    {
        var (request, bucket, now) = Request(Vector("presigned-get"));
        request.Headers.Add("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:NpgCjnDzrM+WFzoENXmpNDUsSn8=");
        Assert.Equal(SigV4Error.InvalidArgument, Verifier(now).Verify(request, bucket).Error);
    }

    [Fact]
    public void Sigv4_requests_are_not_claimed()
    {
        Assert.False(SigV2Verifier.Claims(new SigV4Request("GET", "/", "", new SigV4Headers().Add("Authorization", "AWS4-HMAC-SHA256 Credential=x"))));
        Assert.False(SigV2Verifier.Claims(new SigV4Request("GET", "/", "X-Amz-Algorithm=AWS4-HMAC-SHA256&AWSAccessKeyId=a&Signature=b", new SigV4Headers())));
        Assert.False(SigV2Verifier.Claims(new SigV4Request("GET", "/", "", new SigV4Headers())));
    }
}

public class SigV2BucketPathTests
{
    private static string Sign(string stringToSign) => Convert.ToBase64String(
        System.Security.Cryptography.HMACSHA1.HashData(System.Text.Encoding.UTF8.GetBytes(DocSecret), System.Text.Encoding.UTF8.GetBytes(stringToSign)));

    [Theory]
    [InlineData("/johnsmith", "/johnsmith", true)]
    [InlineData("/johnsmith", "/johnsmith/", true)] // botocore's form for a bucket sent without the slash
    [InlineData("/johnsmith/", "/johnsmith/", true)]
    [InlineData("/johnsmith/", "/johnsmith", false)]
    [InlineData("/johnsmith/k", "/johnsmith/k/", false)]
    public void A_path_style_bucket_verifies_signed_with_or_without_its_trailing_slash(string path, string signedResource, bool verifies)
    {
        const string date = "Tue, 27 Mar 2007 19:42:41 +0000";
        var headers = new SigV4Headers().Add("Host", "s3.amazonaws.com").Add("Date", date)
            .Add("Authorization", $"AWS {DocAccessKey}:{Sign($"GET\n\n\n{date}\n{signedResource}")}");
        var verifier = new SigV2Verifier(new StaticCredentialStore(DocAccessKey, DocSecret), Clock(new DateTimeOffset(2007, 3, 27, 19, 42, 41, TimeSpan.Zero)), "us-east-1");
        Assert.Equal(verifies, verifier.Verify(new SigV4Request("GET", path, "", headers), null).IsSuccess);
    }
}
