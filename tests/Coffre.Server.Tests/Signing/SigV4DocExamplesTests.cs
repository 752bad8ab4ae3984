using System.Text;
using Coffre.Server.Signing;
using static Coffre.Server.Tests.Signing.TestSigner;

namespace Coffre.Server.Tests.Signing;

/// <summary>The worked examples of the S3 SigV4 documentation (key AKIAIOSFODNN7EXAMPLE, 20130524T000000Z).</summary>
public class SigV4DocExamplesTests
{
    private const string EmptySha = SigV4Canonicalizer.EmptyPayloadSha256;

    private static SigV4Request Request(string method, string path, string query, string authorization, params (string, string)[] headers)
    {
        var h = new SigV4Headers();
        foreach (var (n, v) in headers)
            h.Add(n, v);
        h.Add("Authorization", authorization);
        return new SigV4Request(method, path, query, h);
    }

    private static string Auth(string signedHeaders, string signature)
        => $"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders={signedHeaders},Signature={signature}";

    [Fact]
    public void GetObject_WithRange()
    {
        var request = Request("GET", "/test.txt", "",
            Auth("host;range;x-amz-content-sha256;x-amz-date", "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
            ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"), ("x-amz-content-sha256", EmptySha), ("x-amz-date", "20130524T000000Z"));
        var result = DocVerifier().Verify(request);
        Assert.True(result.IsSuccess, result.ToString());
        var ctx = result.Context!;
        Assert.Equal("AKIAIOSFODNN7EXAMPLE", ctx.AccessKeyId);
        Assert.Equal("us-east-1", ctx.Region);
        Assert.Equal("s3", ctx.Service);
        Assert.Equal(DocTime, ctx.RequestTime);
        Assert.Equal("20130524/us-east-1/s3/aws4_request", ctx.Scope);
        Assert.Equal(PayloadMode.SignedHash, ctx.PayloadMode);
        Assert.Equal(EmptySha, ctx.ExpectedPayloadHash);
        Assert.Equal("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", ctx.SeedSignature);
        Assert.False(ctx.IsPresigned);
    }

    [Fact]
    public void GetObject_WrongSignature_ExposesDocumentedCanonicalRequestAndStringToSign()
    {
        var request = Request("GET", "/test.txt", "",
            Auth("host;range;x-amz-content-sha256;x-amz-date", "00e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
            ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"), ("x-amz-content-sha256", EmptySha), ("x-amz-date", "20130524T000000Z"));
        var result = DocVerifier().Verify(request);
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, result.Error);
        Assert.Equal(
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:" + EmptySha +
            "\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n" + EmptySha, result.CanonicalRequest);
        Assert.Equal("AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
            result.StringToSign);
        Assert.Equal("AKIAIOSFODNN7EXAMPLE", result.AccessKeyId);
        Assert.Equal("00e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", result.SignatureProvided);
        Assert.DoesNotContain(DocSecret, result.ToString());
    }

    [Fact]
    public void PutObject_DollarInKey_DateAndAmzDate_BodyVerified()
    {
        const string bodyHash = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
        var request = Request("PUT", "/test$file.text", "",
            Auth("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class", "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
            ("Host", "examplebucket.s3.amazonaws.com"), ("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"), ("x-amz-content-sha256", bodyHash));
        var result = DocVerifier().Verify(request);
        Assert.True(result.IsSuccess, result.ToString());
        Assert.Equal(bodyHash, result.Context!.ExpectedPayloadHash);

        using var ok = result.Context.WrapBody(new MemoryStream(Encoding.ASCII.GetBytes("Welcome to Amazon S3.")));
        Assert.Equal("Welcome to Amazon S3.", Encoding.ASCII.GetString(ReadAll(ok)));

        using var bad = result.Context.WrapBody(new MemoryStream(Encoding.ASCII.GetBytes("Welcome to Amazon S4.")));
        var ex = Assert.Throws<SigV4Exception>(() => ReadAll(bad));
        Assert.Equal(SigV4Error.XAmzContentSHA256Mismatch, ex.Error);
    }

    [Fact]
    public void PutObject_PercentEncodedDollar_SameCanonicalPath()
    {
        var request = Request("PUT", "/test%24file.text", "",
            Auth("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class", "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
            ("Host", "examplebucket.s3.amazonaws.com"), ("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"), ("x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"));
        Assert.True(DocVerifier().Verify(request).IsSuccess);
    }

    [Fact]
    public void GetBucketLifecycle()
    {
        var request = Request("GET", "/", "lifecycle",
            Auth("host;x-amz-content-sha256;x-amz-date", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
            ("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"), ("x-amz-content-sha256", EmptySha));
        var result = DocVerifier().Verify(request);
        Assert.True(result.IsSuccess, result.ToString());
    }

    [Fact]
    public void ListObjects()
    {
        var request = Request("GET", "/", "?max-keys=2&prefix=J",
            Auth("host;x-amz-content-sha256;x-amz-date", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
            ("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"), ("x-amz-content-sha256", EmptySha));
        Assert.True(DocVerifier().Verify(request).IsSuccess);

        // Same request with query parameters in another order: canonical query is sorted.
        var reordered = Request("GET", "/", "prefix=J&max-keys=2",
            Auth("host;x-amz-content-sha256;x-amz-date", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
            ("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"), ("x-amz-content-sha256", EmptySha));
        Assert.True(DocVerifier().Verify(reordered).IsSuccess);
    }

    private const string PresignedQuery =
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

    private static SigV4Request Presigned(string query)
        => new("GET", "/test.txt", query, new SigV4Headers().Add("Host", "examplebucket.s3.amazonaws.com"));

    [Fact]
    public void PresignedUrl_Valid()
    {
        var result = DocVerifier(DocTime.AddHours(12)).Verify(Presigned(PresignedQuery));
        Assert.True(result.IsSuccess, result.ToString());
        Assert.True(result.Context!.IsPresigned);
        Assert.Equal(PayloadMode.Unsigned, result.Context.PayloadMode);
        Assert.Equal(DocTime.AddDays(1), result.Context.ExpiresAt);
    }

    [Fact]
    public void PresignedUrl_Expired()
    {
        var result = DocVerifier(DocTime.AddSeconds(86401)).Verify(Presigned(PresignedQuery));
        Assert.Equal(SigV4Error.AccessDenied, result.Error);
        Assert.Equal("Request has expired", result.Message);
    }

    [Fact]
    public void PresignedUrl_NotYetValid()
    {
        var result = DocVerifier(DocTime.AddHours(-1)).Verify(Presigned(PresignedQuery));
        Assert.Equal(SigV4Error.AccessDenied, result.Error);
    }

    [Fact]
    public void PresignedUrl_TamperedQuery()
    {
        var result = DocVerifier(DocTime.AddHours(1)).Verify(Presigned(PresignedQuery + "&response-content-type=text%2Fhtml"));
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, result.Error);
        var longer = DocVerifier(DocTime.AddHours(1)).Verify(Presigned(PresignedQuery.Replace("X-Amz-Expires=86400", "X-Amz-Expires=86401")));
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, longer.Error);
    }

    // ---- Chunked upload example: 66560 bytes of 'a', 64 KiB chunks -----------------------------------------------------

    private const string Seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
    private const string Chunk1 = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";
    private const string Chunk2 = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497";
    private const string Final = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9";

    internal static SigV4Request ChunkedRequest(string seed = Seed, string decodedLength = "66560")
    {
        var h = new SigV4Headers()
            .Add("Host", "s3.amazonaws.com")
            .Add("x-amz-date", "20130524T000000Z")
            .Add("x-amz-storage-class", "REDUCED_REDUNDANCY")
            .Add("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=" + seed)
            .Add("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
            .Add("Content-Encoding", "aws-chunked")
            .Add("x-amz-decoded-content-length", decodedLength)
            .Add("Content-Length", "66824");
        return new SigV4Request("PUT", "/examplebucket/chunkObject.txt", "", h);
    }

    internal static byte[] ChunkedBody(string chunk1 = Chunk1, string chunk2 = Chunk2, string final = Final, bool includeFinal = true, Action<byte[]>? tamper = null)
    {
        var ms = new MemoryStream();
        var a1 = Enumerable.Repeat((byte)'a', 65536).ToArray();
        var a2 = Enumerable.Repeat((byte)'a', 1024).ToArray();
        tamper?.Invoke(a2);
        ms.Write(Encoding.ASCII.GetBytes($"10000;chunk-signature={chunk1}\r\n"));
        ms.Write(a1);
        ms.Write(Encoding.ASCII.GetBytes($"\r\n400;chunk-signature={chunk2}\r\n"));
        ms.Write(a2);
        ms.Write("\r\n"u8);
        if (includeFinal)
            ms.Write(Encoding.ASCII.GetBytes($"0;chunk-signature={final}\r\n\r\n"));
        return ms.ToArray();
    }

    [Fact]
    public void ChunkedUpload_SeedSignature()
    {
        var result = DocVerifier().Verify(ChunkedRequest());
        Assert.True(result.IsSuccess, result.ToString());
        var ctx = result.Context!;
        Assert.Equal(PayloadMode.StreamingSigned, ctx.PayloadMode);
        Assert.Equal(66560, ctx.DecodedContentLength);
        Assert.Equal(Seed, ctx.SeedSignature);
        Assert.Equal(66824, ChunkedBody().Length);
    }

    [Theory]
    [InlineData(1, 1, false)]
    [InlineData(7, 3, false)]
    [InlineData(4096, 100000, false)]
    [InlineData(100000, 65536, false)]
    [InlineData(8192, 8192, true)]
    [InlineData(13, 70000, true)]
    public async Task ChunkedUpload_DecodesAndVerifiesDocumentedChunkSignatures(int innerMax, int readSize, bool useAsync)
    {
        var ctx = DocVerifier().Verify(ChunkedRequest()).Context!;
        using var stream = new AwsChunkedDecodingStream(new TrickleStream(ChunkedBody(), innerMax), ctx);
        var data = useAsync ? await ReadAllAsync(stream, readSize) : ReadAll(stream, readSize);
        Assert.Equal(66560, data.Length);
        Assert.All(data, b => Assert.Equal((byte)'a', b));
        Assert.True(stream.IsCompleted);
        Assert.Empty(stream.Trailers);
    }

    [Fact]
    public void ChunkedUpload_TamperedData()
    {
        var ctx = DocVerifier().Verify(ChunkedRequest()).Context!;
        using var stream = ctx.WrapBody(new MemoryStream(ChunkedBody(tamper: d => d[10] = (byte)'b')));
        var ex = Assert.Throws<SigV4Exception>(() => ReadAll(stream));
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, ex.Error);
        // The stream stays failed.
        Assert.Throws<SigV4Exception>(() => stream.ReadByte());
    }

    [Fact]
    public void ChunkedUpload_TamperedChunkSignature()
    {
        var ctx = DocVerifier().Verify(ChunkedRequest()).Context!;
        using var stream = ctx.WrapBody(new MemoryStream(ChunkedBody(chunk2: "1" + Chunk2[1..])));
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, Assert.Throws<SigV4Exception>(() => ReadAll(stream)).Error);
    }

    [Fact]
    public void ChunkedUpload_TamperedFinalSignature()
    {
        var ctx = DocVerifier().Verify(ChunkedRequest()).Context!;
        using var stream = ctx.WrapBody(new MemoryStream(ChunkedBody(final: "1" + Final[1..])));
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, Assert.Throws<SigV4Exception>(() => ReadAll(stream)).Error);
    }

    [Fact]
    public void ChunkedUpload_MissingFinalChunk()
    {
        var ctx = DocVerifier().Verify(ChunkedRequest()).Context!;
        using var stream = ctx.WrapBody(new MemoryStream(ChunkedBody(includeFinal: false)));
        Assert.Equal(SigV4Error.IncompleteBody, Assert.Throws<SigV4Exception>(() => ReadAll(stream)).Error);
    }

    [Fact]
    public void ChunkedUpload_TruncatedInsideChunk()
    {
        var ctx = DocVerifier().Verify(ChunkedRequest()).Context!;
        using var stream = ctx.WrapBody(new MemoryStream(ChunkedBody()[..40000]));
        Assert.Equal(SigV4Error.IncompleteBody, Assert.Throws<SigV4Exception>(() => ReadAll(stream)).Error);
    }

    [Fact]
    public void ChunkedUpload_DecodedLengthMismatch()
    {
        // The seed signature covers x-amz-decoded-content-length, so test the stream directly with a wrong expectation.
        var ctx = DocVerifier().Verify(ChunkedRequest()).Context!;
        using (var shorter = new AwsChunkedDecodingStream(new MemoryStream(ChunkedBody()), ctx.PayloadMode, ctx.SigningKey.Span,
                   ctx.Timestamp, ctx.Scope, ctx.SeedSignature, 66561))
            Assert.Equal(SigV4Error.IncompleteBody, Assert.Throws<SigV4Exception>(() => ReadAll(shorter)).Error);
        using (var longer = new AwsChunkedDecodingStream(new MemoryStream(ChunkedBody()), ctx.PayloadMode, ctx.SigningKey.Span,
                   ctx.Timestamp, ctx.Scope, ctx.SeedSignature, 66000))
            Assert.Equal(SigV4Error.InvalidChunk, Assert.Throws<SigV4Exception>(() => ReadAll(longer)).Error);

        // And a header that disagrees with what was signed breaks the seed signature.
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, DocVerifier().Verify(ChunkedRequest(decodedLength: "66561")).Error);
    }

    [Fact]
    public void ChunkedUpload_DataAfterFinalChunk()
    {
        var ctx = DocVerifier().Verify(ChunkedRequest()).Context!;
        var body = ChunkedBody().Concat("junk"u8.ToArray()).ToArray();
        using var stream = ctx.WrapBody(new MemoryStream(body));
        Assert.Equal(SigV4Error.InvalidChunk, Assert.Throws<SigV4Exception>(() => ReadAll(stream)).Error);
    }

    [Fact]
    public void ChunkedUpload_MalformedSizeLine()
    {
        var ctx = DocVerifier().Verify(ChunkedRequest()).Context!;
        var body = ChunkedBody();
        body[0] = (byte)'x';
        using var stream = ctx.WrapBody(new MemoryStream(body));
        Assert.Equal(SigV4Error.InvalidChunk, Assert.Throws<SigV4Exception>(() => ReadAll(stream)).Error);
    }

    // ---- Trailer signature (aws-c-auth / aws-crt vector for the same example) -----------------------------------------

    private static byte[] TrailerBody(string trailerSignature, string second = "2nd")
    {
        var body = ChunkedBody(includeFinal: false).ToList();
        body.AddRange(Encoding.ASCII.GetBytes(
            $"0;chunk-signature={Final}\r\nfirst:1st\r\nsecond:{second}\r\nthird:3rd\r\nx-amz-trailer-signature:{trailerSignature}\r\n\r\n"));
        return body.ToArray();
    }

    private const string TrailerSig = "df5735bd9f3295cd9386572292562fefc93ba94e80a0a1ddcbd652c4e0a75e6c";

    private static AwsChunkedDecodingStream TrailerStream(byte[] body, string[]? declared = null)
    {
        var key = SigV4Canonicalizer.DeriveSigningKey(DocSecret, "20130524", "us-east-1", "s3");
        return new AwsChunkedDecodingStream(new MemoryStream(body), PayloadMode.StreamingSignedTrailer, key, "20130524T000000Z",
            "20130524/us-east-1/s3/aws4_request", Seed, 66560, declared ?? ["first", "second", "third"]);
    }

    [Fact]
    public void SignedTrailer_Verifies()
    {
        using var stream = TrailerStream(TrailerBody(TrailerSig));
        Assert.Equal(66560, ReadAll(stream, 5000).Length);
        Assert.Equal(new Dictionary<string, string> { ["first"] = "1st", ["second"] = "2nd", ["third"] = "3rd" }, stream.Trailers);
    }

    [Fact]
    public void SignedTrailer_TamperedValue()
    {
        using var stream = TrailerStream(TrailerBody(TrailerSig, second: "2ND"));
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, Assert.Throws<SigV4Exception>(() => ReadAll(stream)).Error);
    }

    [Fact]
    public void SignedTrailer_TamperedSignature()
    {
        using var stream = TrailerStream(TrailerBody("0" + TrailerSig[1..]));
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, Assert.Throws<SigV4Exception>(() => ReadAll(stream)).Error);
    }

    [Fact]
    public void SignedTrailer_UndeclaredOrMissing()
    {
        using (var undeclared = TrailerStream(TrailerBody(TrailerSig), ["first", "second"]))
            Assert.Equal(SigV4Error.MalformedTrailerError, Assert.Throws<SigV4Exception>(() => ReadAll(undeclared)).Error);
        using (var missing = TrailerStream(TrailerBody(TrailerSig), ["first", "second", "third", "fourth"]))
            Assert.Equal(SigV4Error.MalformedTrailerError, Assert.Throws<SigV4Exception>(() => ReadAll(missing)).Error);
    }
}
