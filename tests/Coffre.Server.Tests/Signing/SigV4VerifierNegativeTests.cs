using System.Text;
using Coffre.Server.Signing;
using static Coffre.Server.Tests.Signing.TestSigner;

namespace Coffre.Server.Tests.Signing;

public class SigV4VerifierNegativeTests
{
    private static readonly DateTimeOffset Now = new(2025, 3, 1, 10, 0, 0, TimeSpan.Zero);
    private const string Empty = SigV4Canonicalizer.EmptyPayloadSha256;

    private static SigV4Verifier Verifier(DateTimeOffset? now = null) => DocVerifier(now ?? Now);

    private static SigV4Request Get(DateTimeOffset? time = null, string secret = DocSecret, string accessKey = DocAccessKey,
        string query = "list-type=2&prefix=a", string service = "s3", (string, string)[]? headers = null, string[]? unsigned = null)
        => Sign("GET", "/bucket/key", query, headers ?? [("x-amz-meta-color", "blue")], service == "s3" ? Empty : null, time ?? Now,
            service: service, secret: secret, accessKey: accessKey, unsigned: unsigned);

    [Fact]
    public void Valid() => Assert.True(Verifier().Verify(Get()).IsSuccess);

    [Fact]
    public void WrongSecret()
    {
        var r = Verifier().Verify(Get(secret: "not-the-secret"));
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, r.Error);
        Assert.NotNull(r.CanonicalRequest);
        Assert.NotNull(r.StringToSign);
        Assert.DoesNotContain(DocSecret, r.CanonicalRequest + r.StringToSign + r.Message);
        Assert.Equal(403, r.Error.ToS3HttpStatus());
        Assert.Equal("SignatureDoesNotMatch", r.Error.ToS3Code());
    }

    [Fact]
    public void A_changed_secret_is_used_at_once_although_signing_keys_are_cached()
    {
        var store = new StaticCredentialStore(DocAccessKey, DocSecret);
        var v = new SigV4Verifier(store, Clock(Now));
        Assert.True(v.Verify(Get()).IsSuccess);
        Assert.True(v.Verify(Get()).IsSuccess); // from the cache
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, v.Verify(Get(secret: "not-the-secret")).Error);
        Assert.True(v.Verify(Get()).IsSuccess); // a failed attempt does not evict or replace the good key

        store.Add(DocAccessKey, "the-rotated-secret");
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, v.Verify(Get()).Error);
        Assert.True(v.Verify(Get(secret: "the-rotated-secret")).IsSuccess);
        store.Remove(DocAccessKey);
        Assert.Equal(SigV4Error.InvalidAccessKeyId, v.Verify(Get(secret: "the-rotated-secret")).Error);
    }

    [Fact]
    public void Signing_keys_are_per_day_and_region()
    {
        // Around midnight both days' requests are within the allowed skew; each must verify with its own day's key.
        var midnight = new DateTimeOffset(2025, 3, 2, 0, 0, 0, TimeSpan.Zero);
        var v = Verifier(midnight);
        foreach (var time in new[] { midnight.AddMinutes(-5), midnight.AddMinutes(5), midnight.AddMinutes(-4), midnight.AddMinutes(4) })
            foreach (var region in new[] { "us-east-1", "eu-west-3", "us-east-1" })
                Assert.True(v.Verify(Sign("GET", "/bucket/key", "", [], Empty, time, region: region)).IsSuccess, $"{time:O} {region}");
    }

    [Fact]
    public void UnknownAccessKey()
    {
        var r = Verifier().Verify(Get(accessKey: "AKIDUNKNOWN"));
        Assert.Equal(SigV4Error.InvalidAccessKeyId, r.Error);
        Assert.Equal("AKIDUNKNOWN", r.AccessKeyId);
    }

    [Fact]
    public void TamperedHeader()
    {
        var request = Get();
        request.Headers.Set("x-amz-meta-color", "red");
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, Verifier().Verify(request).Error);
    }

    [Fact]
    public void TamperedQuery()
    {
        var good = Get();
        var tampered = new SigV4Request(good.Method, good.RawPath, "list-type=2&prefix=b", good.Headers);
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, Verifier().Verify(tampered).Error);
    }

    [Fact]
    public void TamperedPathOrMethod()
    {
        var good = Get();
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, Verifier().Verify(new SigV4Request("GET", "/bucket/other", good.RawQuery, good.Headers)).Error);
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, Verifier().Verify(new SigV4Request("DELETE", good.RawPath, good.RawQuery, good.Headers)).Error);
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, Verifier().Verify(new SigV4Request("GET", good.RawPath, good.RawQuery, good.Headers, "evil.example")).Error);
    }

    [Fact]
    public void QueryEncodingVariantsStillVerify()
    {
        // The client signed the canonical form; the wire form uses '+', lowercase escapes and raw characters.
        var signed = Sign("GET", "/bucket", "prefix=a%20b%2Fc&x=%C3%A9", [], Empty, Now);
        var wire = new SigV4Request("GET", "/bucket", "x=%c3%a9&prefix=a+b/c", signed.Headers);
        Assert.True(Verifier().Verify(wire).IsSuccess);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(-16)]
    public void ClockSkew(int minutes)
    {
        var r = Verifier(Now.AddMinutes(minutes)).Verify(Get());
        Assert.Equal(SigV4Error.RequestTimeTooSkewed, r.Error);
        Assert.True(Verifier(Now.AddMinutes(minutes > 0 ? 14 : -14)).Verify(Get()).IsSuccess);
    }

    [Fact]
    public void CustomSkew()
    {
        var v = new SigV4Verifier(new StaticCredentialStore(DocAccessKey, DocSecret), Clock(Now.AddMinutes(3)), TimeSpan.FromMinutes(2));
        Assert.Equal(SigV4Error.RequestTimeTooSkewed, v.Verify(Get()).Error);
    }

    [Fact]
    public void PresignedExpiredAndTooLong()
    {
        var query = Presign("GET", "/bucket/key", Now, 3600, host: "examplebucket.s3.amazonaws.com");
        var request = new SigV4Request("GET", "/bucket/key", query, new SigV4Headers().Add("Host", "examplebucket.s3.amazonaws.com"));
        Assert.True(Verifier(Now.AddMinutes(59)).Verify(request).IsSuccess);
        var expired = Verifier(Now.AddMinutes(61)).Verify(request);
        Assert.Equal(SigV4Error.AccessDenied, expired.Error);
        Assert.Equal("Request has expired", expired.Message);

        var week = Presign("GET", "/bucket/key", Now, 604801);
        Assert.Equal(SigV4Error.AuthorizationQueryParametersError,
            Verifier().Verify(new SigV4Request("GET", "/bucket/key", week, new SigV4Headers().Add("Host", "examplebucket.s3.amazonaws.com"))).Error);
    }

    [Fact]
    public void PresignedUnsignedAmzHeader()
    {
        var query = Presign("PUT", "/bucket/key", Now, 3600);
        var headers = new SigV4Headers().Add("Host", "examplebucket.s3.amazonaws.com").Add("x-amz-acl", "public-read");
        var r = Verifier().Verify(new SigV4Request("PUT", "/bucket/key", query, headers));
        Assert.Equal(SigV4Error.AccessDenied, r.Error);
        Assert.Equal("x-amz-acl", r.HeadersNotSigned);
    }

    [Fact]
    public void PresignedMissingParameter()
    {
        var query = Presign("GET", "/bucket/key", Now, 3600).Replace("&X-Amz-SignedHeaders=host", "");
        var r = Verifier().Verify(new SigV4Request("GET", "/bucket/key", query, new SigV4Headers().Add("Host", "examplebucket.s3.amazonaws.com")));
        Assert.Equal(SigV4Error.AuthorizationQueryParametersError, r.Error);
    }

    [Fact]
    public void BothMechanisms()
    {
        var request = Get();
        var query = Presign("GET", "/bucket/key", Now, 3600);
        Assert.Equal(SigV4Error.InvalidArgument, Verifier().Verify(new SigV4Request("GET", "/bucket/key", query, request.Headers)).Error);
    }

    [Fact]
    public void UnsignedAmzHeaderRejected()
    {
        var r = Verifier().Verify(Get(unsigned: ["x-amz-meta-color"]));
        Assert.Equal(SigV4Error.AccessDenied, r.Error);
        Assert.Equal("x-amz-meta-color", r.HeadersNotSigned);
    }

    [Fact]
    public void HostMustBeSigned()
    {
        var r = Verifier().Verify(Get(unsigned: ["host"]));
        Assert.Equal(SigV4Error.AuthorizationHeaderMalformed, r.Error);
    }

    [Fact]
    public void MissingContentSha256OnS3()
    {
        var request = Sign("GET", "/bucket/key", "", [], null, Now);
        Assert.Equal(SigV4Error.InvalidRequest, Verifier().Verify(request).Error);
    }

    [Fact]
    public void InvalidContentSha256()
    {
        var request = Sign("PUT", "/bucket/key", "", [], "not-a-hash", Now);
        Assert.Equal(SigV4Error.InvalidArgument, Verifier().Verify(request).Error);
    }

    [Fact]
    public void StreamingWithoutDecodedLength()
    {
        var request = Sign("PUT", "/bucket/key", "", [], SigV4Canonicalizer.StreamingSignedPayload, Now);
        Assert.Equal(SigV4Error.MissingSecurityHeader, Verifier().Verify(request).Error);
    }

    [Fact]
    public void MissingDate()
    {
        var request = Get();
        request.Headers.Remove("x-amz-date");
        Assert.Equal(SigV4Error.AccessDenied, Verifier().Verify(request).Error);
    }

    [Fact]
    public void DateHeaderOnly()
    {
        // Signed with the Date header and no x-amz-date.
        var h = new SigV4Headers().Add("Host", "h").Add("Date", "Sat, 01 Mar 2025 10:00:00 GMT").Add("x-amz-content-sha256", Empty);
        var cr = SigV4Canonicalizer.CanonicalRequest("GET", "/", "", [("date", "Sat, 01 Mar 2025 10:00:00 GMT"), ("host", "h"), ("x-amz-content-sha256", Empty)],
            "date;host;x-amz-content-sha256", Empty);
        var sig = SigV4Canonicalizer.Sign(SigV4Canonicalizer.DeriveSigningKey(DocSecret, "20250301", "us-east-1", "s3"),
            SigV4Canonicalizer.StringToSign("20250301T100000Z", "20250301/us-east-1/s3/aws4_request", cr));
        h.Add("Authorization", $"AWS4-HMAC-SHA256 Credential={DocAccessKey}/20250301/us-east-1/s3/aws4_request, SignedHeaders=date;host;x-amz-content-sha256, Signature={sig}");
        Assert.True(Verifier().Verify(new SigV4Request("GET", "/", "", h)).IsSuccess);
    }

    [Fact]
    public void CredentialDateMismatch()
    {
        var request = Get();
        var auth = request.Headers.GetFirst("authorization")!.Replace("/20250301/", "/20250302/");
        request.Headers.Set("Authorization", auth);
        Assert.Equal(SigV4Error.AuthorizationHeaderMalformed, Verifier().Verify(request).Error);
    }

    [Fact]
    public void WrongServiceAndMalformedHeaders()
    {
        var r = Verifier().Verify(Get(service: "sqs"));
        Assert.Equal(SigV4Error.AuthorizationHeaderMalformed, r.Error);
        Assert.Equal("sqs", r.Service);

        foreach (var bad in new[]
                 {
                     "AWS4-HMAC-SHA256 Credential=AK/20250301/us-east-1/s3, SignedHeaders=host, Signature=00",
                     "AWS4-HMAC-SHA256 Credential=AK/20250301/us-east-1/s3/aws4_request, Signature=00",
                     "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00",
                     "AWS4-HMAC-SHA256 Credential=AK/20250301/us-east-1/s3/aws4_request, SignedHeaders=host",
                     "AWS4-HMAC-SHA256 Credential=AK/20250301/us-east-1/s3/aws4_request, SignedHeaders=Host, Signature=00",
                     "AWS4-ECDSA-P256-SHA256 Credential=AK/20250301/s3/aws4_request, SignedHeaders=host, Signature=00",
                     "AWS4-HMAC-SHA256 garbage",
                 })
        {
            var request = Get();
            request.Headers.Set("Authorization", bad);
            Assert.Equal(SigV4Error.AuthorizationHeaderMalformed, Verifier().Verify(request).Error);
        }
    }

    [Fact]
    public void SigV2Rejected()
    {
        var request = Get();
        request.Headers.Set("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=");
        Assert.Equal(SigV4Error.InvalidRequest, Verifier().Verify(request).Error);
    }

    [Fact]
    public void Anonymous()
    {
        var r = Verifier().Verify(new SigV4Request("GET", "/bucket/key", "", new SigV4Headers().Add("Host", "h")));
        Assert.Equal(SigV4Error.MissingAuthenticationToken, r.Error);
        Assert.Equal("MissingAuthenticationTokenException", r.Error.ToKmsCode());
        Assert.Equal("AccessDenied", r.Error.ToS3Code());
    }

    [Fact]
    public void Kms_PrecomputedBodyHash()
    {
        var body = Encoding.UTF8.GetBytes("{\"KeyId\":\"alias/test\",\"Plaintext\":\"aGVsbG8=\"}");
        var signed = Sign("POST", "/", "", [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "TrentService.Encrypt")], null, Now,
            service: "kms", host: "kms.us-east-1.amazonaws.com", payloadHashOverride: SigV4Canonicalizer.Sha256Hex(body));
        Assert.True(SigV4Verifier.RequiresBodyHash(signed));
        var withoutHash = Verifier().Verify(signed);
        Assert.Equal(SigV4Error.InvalidRequest, withoutHash.Error);

        var request = new SigV4Request(signed.Method, signed.RawPath, signed.RawQuery, signed.Headers) { PayloadHash = SigV4Canonicalizer.Sha256Hex(body) };
        var r = Verifier().Verify(request);
        Assert.True(r.IsSuccess, r.ToString());
        Assert.Equal("kms", r.Context!.Service);
        Assert.Equal(PayloadMode.PrecomputedHash, r.Context.PayloadMode);

        body[3] ^= 1;
        var tampered = new SigV4Request(signed.Method, signed.RawPath, signed.RawQuery, signed.Headers) { PayloadHash = SigV4Canonicalizer.Sha256Hex(body) };
        var bad = Verifier().Verify(tampered);
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, bad.Error);
        Assert.Equal("InvalidSignatureException", bad.Error.ToKmsCode());
    }

    [Fact]
    public async Task SignedHash_StreamMismatchAndAsync()
    {
        var body = "hello world"u8.ToArray();
        var signed = Sign("PUT", "/bucket/key", "", [], SigV4Canonicalizer.Sha256Hex(body), Now);
        var ctx = Verifier().Verify(signed).Context!;
        Assert.Equal(PayloadMode.SignedHash, ctx.PayloadMode);
        using (var ok = ctx.WrapBody(new TrickleStream(body, 3)))
            Assert.Equal(body, await ReadAllAsync(ok));
        using var bad = ctx.WrapBody(new MemoryStream("hello World"u8.ToArray()));
        var ex = await Assert.ThrowsAsync<SigV4Exception>(() => ReadAllAsync(bad));
        Assert.Equal(SigV4Error.XAmzContentSHA256Mismatch, ex.Error);
    }

    // ---- Streaming round trips with the test signer ----------------------------------------------------------------

    private static (SigV4AuthContext Ctx, byte[] Key) Streaming(string mode, long decodedLength, string? trailer = null)
    {
        var headers = new List<(string, string)> { ("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", decodedLength.ToString()) };
        if (trailer is not null)
            headers.Add(("x-amz-trailer", trailer));
        var r = Verifier().Verify(Sign("PUT", "/bucket/key", "", headers, mode, Now));
        Assert.True(r.IsSuccess, r.ToString());
        return (r.Context!, SigV4Canonicalizer.DeriveSigningKey(DocSecret, "20250301", "us-east-1", "s3"));
    }

    [Theory]
    [InlineData(0, 8192)]
    [InlineData(1, 8192)]
    [InlineData(100000, 8192)]
    [InlineData(300000, 65536)]
    public async Task SignedTrailer_RoundTrip(int size, int chunk)
    {
        var data = new byte[size];
        Random.Shared.NextBytes(data);
        var (ctx, key) = Streaming(SigV4Canonicalizer.StreamingSignedPayloadTrailer, size, "x-amz-checksum-crc32");
        Assert.Equal(["x-amz-checksum-crc32"], ctx.DeclaredTrailers);
        var body = ChunkedBody(data, chunk, key, ctx.Timestamp, ctx.Scope, ctx.SeedSignature, [new("x-amz-checksum-crc32", "sOO8/Q==")]);
        await using var stream = (AwsChunkedDecodingStream)ctx.WrapBody(new TrickleStream(body, 5000));
        Assert.Equal(data, await ReadAllAsync(stream, 3000));
        Assert.Equal("sOO8/Q==", stream.Trailers["x-amz-checksum-crc32"]);
    }

    [Fact]
    public void UnsignedTrailer_RoundTrip_AndMissingTrailer()
    {
        var data = new byte[20000];
        Random.Shared.NextBytes(data);
        var (ctx, _) = Streaming(SigV4Canonicalizer.StreamingUnsignedPayloadTrailer, data.Length, "x-amz-checksum-crc32");
        var body = ChunkedBody(data, 8192, null, "", "", "", [new("x-amz-checksum-crc32", "AAAAAA==")]);
        using (var stream = (AwsChunkedDecodingStream)ctx.WrapBody(new MemoryStream(body)))
        {
            Assert.Equal(data, ReadAll(stream));
            Assert.Equal("AAAAAA==", stream.Trailers["x-amz-checksum-crc32"]);
        }
        var noTrailer = ChunkedBody(data, 8192, null, "", "", "", []);
        using (var stream = ctx.WrapBody(new MemoryStream(noTrailer)))
            Assert.Equal(SigV4Error.MalformedTrailerError, Assert.Throws<SigV4Exception>(() => ReadAll(stream)).Error);
    }

    [Fact]
    public void SignedTrailer_MissingTrailerSignature()
    {
        var data = new byte[100];
        var (ctx, _) = Streaming(SigV4Canonicalizer.StreamingSignedPayloadTrailer, data.Length, "x-amz-checksum-crc32");
        var key = SigV4Canonicalizer.DeriveSigningKey(DocSecret, "20250301", "us-east-1", "s3");
        var body = ChunkedBody(data, 8192, key, ctx.Timestamp, ctx.Scope, ctx.SeedSignature, [new("x-amz-checksum-crc32", "AAAAAA==")]);
        var text = Encoding.ASCII.GetString(body);
        var cut = text.IndexOf("x-amz-trailer-signature", StringComparison.Ordinal);
        var stripped = Encoding.ASCII.GetBytes(text[..cut] + "\r\n");
        using var stream = ctx.WrapBody(new MemoryStream(stripped));
        Assert.Equal(SigV4Error.MalformedTrailerError, Assert.Throws<SigV4Exception>(() => ReadAll(stream)).Error);
    }

    [Fact]
    public void Signed_ChunkFromAnotherRequestRejected()
    {
        // Chunks signed with a different seed (replay from another upload) fail.
        var data = new byte[1000];
        var (ctx, key) = Streaming(SigV4Canonicalizer.StreamingSignedPayload, data.Length);
        var body = ChunkedBody(data, 8192, key, ctx.Timestamp, ctx.Scope, new string('a', 64));
        using var stream = ctx.WrapBody(new MemoryStream(body));
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, Assert.Throws<SigV4Exception>(() => ReadAll(stream)).Error);
    }
}
