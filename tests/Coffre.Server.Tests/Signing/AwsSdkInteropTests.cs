using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.Server.Signing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Coffre.Server.Tests.Signing;

/// <summary>A loopback Kestrel server that verifies every request with <see cref="SigV4Verifier"/> and records the outcome.</summary>
public sealed class SigV4LoopbackServer : IAsyncLifetime
{
    public const string AccessKey = "AKIDCOFFRETEST";
    public const string Secret = "c0ffre/Secret+Key/ForInteropTests0123456";

    public sealed record Captured(string Method, string RawTarget, SigV4Result Result, byte[]? Body, IReadOnlyDictionary<string, string>? Trailers,
        SigV4Exception? BodyError, Dictionary<string, string> Headers);

    private WebApplication? _app;
    public ConcurrentQueue<Captured> Requests { get; } = new();
    public string BaseUrl { get; private set; } = "";
    public string HttpsUrl { get; private set; } = "";
    public SigV4Verifier Verifier { get; } = new(new StaticCredentialStore(AccessKey, Secret), TimeProvider.System);

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        using var rsa = RSA.Create(2048);
        var certRequest = new CertificateRequest("CN=127.0.0.1", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        certRequest.CertificateExtensions.Add(san.Build());
        var certificate = certRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        builder.WebHost.UseKestrel(o =>
        {
            o.Listen(IPAddress.Loopback, 0);
            o.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate));
        });
        _app = builder.Build();
        _app.Run(Handle);
        await _app.StartAsync();
        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        BaseUrl = addresses.First(a => a.StartsWith("http://", StringComparison.Ordinal));
        HttpsUrl = addresses.First(a => a.StartsWith("https://", StringComparison.Ordinal));
    }

    private async Task Handle(HttpContext context)
    {
        var request = SigV4RequestAdapter.FromHttpRequest(context.Request);
        byte[]? body = null;
        if (SigV4Verifier.RequiresBodyHash(request))
        {
            // KMS style: the body hash is signed but not sent. Buffer the (small, bounded) body and hash it first.
            var ms = new MemoryStream();
            await context.Request.Body.CopyToAsync(ms);
            body = ms.ToArray();
            request = request.WithPayloadHash(SigV4Canonicalizer.Sha256Hex(body));
        }
        var result = Verifier.Verify(request);
        IReadOnlyDictionary<string, string>? trailers = null;
        SigV4Exception? bodyError = null;
        if (result.IsSuccess && body is null)
        {
            await using var stream = result.Context!.WrapBody(context.Request.Body, leaveOpen: true);
            try
            {
                var ms = new MemoryStream();
                await stream.CopyToAsync(ms);
                body = ms.ToArray();
                trailers = (stream as AwsChunkedDecodingStream)?.Trailers;
            }
            catch (SigV4Exception ex)
            {
                bodyError = ex;
            }
        }
        Requests.Enqueue(new Captured(context.Request.Method, request.RawPath + (request.RawQuery.Length > 0 ? "?" + request.RawQuery : ""),
            result, body, trailers, bodyError, context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)));

        if (!result.IsSuccess || bodyError is not null)
        {
            context.Response.StatusCode = (bodyError?.Error ?? result.Error).ToS3HttpStatus();
            context.Response.ContentType = "application/xml";
            await context.Response.WriteAsync($"<Error><Code>{(bodyError?.Error ?? result.Error).ToS3Code()}</Code><Message>{WebUtility.HtmlEncode(bodyError?.Message ?? result.Message)}</Message></Error>");
            return;
        }
        if (result.Context!.Service == "kms")
        {
            context.Response.ContentType = "application/x-amz-json-1.1";
            await context.Response.WriteAsync("{\"Keys\":[],\"Truncated\":false}");
            return;
        }
        context.Response.Headers.ETag = "\"0123456789abcdef0123456789abcdef\"";
        if (context.Request.Method == "GET" && context.Request.Query.ContainsKey("list-type"))
        {
            context.Response.ContentType = "application/xml";
            await context.Response.WriteAsync("<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bucket</Name><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>");
        }
        else if (context.Request.Method == "GET")
        {
            context.Response.ContentType = "application/octet-stream";
            await context.Response.Body.WriteAsync("0123456789"u8.ToArray());
        }
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
            await _app.DisposeAsync();
    }
}

public class AwsSdkInteropTests(SigV4LoopbackServer server, ITestOutputHelper output) : IClassFixture<SigV4LoopbackServer>
{
    /// <summary>Trusts the loopback server's self-signed certificate.</summary>
    private sealed class InsecureHttpClientFactory : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig)
            => new(new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator });
    }

    private AmazonS3Client Client(Action<AmazonS3Config>? configure = null, string secret = SigV4LoopbackServer.Secret, bool https = false)
    {
        var config = new AmazonS3Config
        {
            ServiceURL = https ? server.HttpsUrl : server.BaseUrl,
            HttpClientFactory = https ? new InsecureHttpClientFactory() : null,
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            MaxErrorRetry = 0,
        };
        configure?.Invoke(config);
        return new AmazonS3Client(new BasicAWSCredentials(SigV4LoopbackServer.AccessKey, secret), config);
    }

    private SigV4LoopbackServer.Captured Last(string method)
    {
        var list = server.Requests.ToArray().Where(c => c.Method == method).ToList();
        Assert.NotEmpty(list);
        return list[^1];
    }

    private static void AssertOk(SigV4LoopbackServer.Captured c)
    {
        Assert.True(c.Result.IsSuccess, $"{c.Method} {c.RawTarget}: {c.Result}\nCanonicalRequest:\n{c.Result.CanonicalRequest}\nHeaders: {string.Join("; ", c.Headers.Select(h => h.Key + "=" + h.Value))}");
        Assert.Null(c.BodyError);
    }

    private static byte[] Data(int size)
    {
        var data = new byte[size];
        new Random(size).NextBytes(data);
        return data;
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1000, false)]
    [InlineData(300_000, false)]
    [InlineData(0, true)]
    [InlineData(1000, true)]
    [InlineData(300_000, true)]
    public async Task PutObject_Default(int size, bool https)
    {
        using var client = Client(https: https);
        var data = Data(size);
        await client.PutObjectAsync(new PutObjectRequest { BucketName = "bucket", Key = $"default/{size}.bin", InputStream = new MemoryStream(data) });
        var c = Last("PUT");
        AssertOk(c);
        Assert.Equal(data, c.Body);
        output.WriteLine($"PutObject size={size} https={https}: {c.Result.Context!.PayloadMode} trailers={string.Join(",", c.Trailers?.Keys ?? [])} headers={string.Join("; ", c.Headers.Select(h => h.Key + "=" + h.Value))}");
        Assert.Contains(c.Result.Context!.PayloadMode, new[] { PayloadMode.StreamingSignedTrailer, PayloadMode.StreamingSigned, PayloadMode.StreamingUnsignedTrailer, PayloadMode.SignedHash });
        if (c.Result.Context.PayloadMode is PayloadMode.StreamingSignedTrailer or PayloadMode.StreamingUnsignedTrailer)
            Assert.NotEmpty(c.Trailers!);
    }

    [Fact]
    public async Task PutObject_ChunkEncodingDisabled()
    {
        using var client = Client();
        var data = Data(50_000);
        await client.PutObjectAsync(new PutObjectRequest { BucketName = "bucket", Key = "nochunk.bin", InputStream = new MemoryStream(data), UseChunkEncoding = false });
        var c = Last("PUT");
        AssertOk(c);
        Assert.Equal(data, c.Body);
        Assert.False(c.Result.Context!.IsStreaming);
    }

    [Fact]
    public async Task PutObject_NoChecksum_SignedChunks()
    {
        using var client = Client(c => c.RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED);
        var data = Data(200_000);
        await client.PutObjectAsync(new PutObjectRequest { BucketName = "bucket", Key = "nochecksum.bin", InputStream = new MemoryStream(data) });
        var c = Last("PUT");
        AssertOk(c);
        Assert.Equal(data, c.Body);
    }

    [Fact]
    public async Task PutObject_PayloadSigningDisabled()
    {
        using var client = Client(https: true);
        var data = Data(70_000);
        await client.PutObjectAsync(new PutObjectRequest { BucketName = "bucket", Key = "unsigned.bin", InputStream = new MemoryStream(data), DisablePayloadSigning = true });
        var c = Last("PUT");
        AssertOk(c);
        Assert.Equal(data, c.Body);
        output.WriteLine($"DisablePayloadSigning: {c.Result.Context!.PayloadMode}");
    }

    [Fact]
    public async Task PutObject_SpecialKeyAndMetadata()
    {
        using var client = Client();
        var request = new PutObjectRequest
        {
            BucketName = "bucket",
            Key = "dir/a b+c$d=e&f~g(h)'é€ü/x y.txt",
            ContentBody = "hello",
            ContentType = "text/plain",
        };
        request.Metadata.Add("color", "  blue   and  green ");
        await client.PutObjectAsync(request);
        var c = Last("PUT");
        AssertOk(c);
        Assert.Equal("hello"u8.ToArray(), c.Body);
    }

    [Fact]
    public async Task GetObject_Range_And_ListObjectsV2()
    {
        using var client = Client();
        using (var response = await client.GetObjectAsync(new GetObjectRequest { BucketName = "bucket", Key = "some key+é.txt", ByteRange = new ByteRange(0, 9) }))
        {
            Assert.Equal(HttpStatusCode.OK, response.HttpStatusCode);
        }
        AssertOk(Last("GET"));

        await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "bucket", Prefix = "a b/c+d=é", Delimiter = "/", StartAfter = "x*y" });
        var list = Last("GET");
        AssertOk(list);
        Assert.Contains("list-type=2", list.RawTarget);
    }

    [Fact]
    public async Task PresignedUrl_Get()
    {
        using var client = Client();
        var url = await client.GetPreSignedURLAsync(new GetPreSignedUrlRequest
        {
            BucketName = "bucket",
            Key = "pre signed/ké y.txt",
            Verb = HttpVerb.GET,
            Expires = DateTime.UtcNow.AddMinutes(10),
            Protocol = Protocol.HTTP,
        });
        using var http = new HttpClient();
        using var response = await http.GetAsync(url);
        var c = Last("GET");
        AssertOk(c);
        Assert.True(c.Result.Context!.IsPresigned);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // Tampering with the URL breaks it.
        using var tampered = await http.GetAsync(url.Replace("ke", "kf"));
        Assert.Equal(HttpStatusCode.Forbidden, tampered.StatusCode);
    }

    [Fact]
    public async Task PresignedUrl_Put()
    {
        using var client = Client();
        var url = await client.GetPreSignedURLAsync(new GetPreSignedUrlRequest
        {
            BucketName = "bucket",
            Key = "upload.bin",
            Verb = HttpVerb.PUT,
            Expires = DateTime.UtcNow.AddMinutes(10),
            Protocol = Protocol.HTTP,
        });
        using var http = new HttpClient();
        using var response = await http.PutAsync(url, new ByteArrayContent(Data(1234)));
        var c = Last("PUT");
        AssertOk(c);
        Assert.Equal(Data(1234), c.Body);
    }

    [Fact]
    public async Task Kms_ListKeys()
    {
        using var kms = new Amazon.KeyManagementService.AmazonKeyManagementServiceClient(
            new BasicAWSCredentials(SigV4LoopbackServer.AccessKey, SigV4LoopbackServer.Secret),
            new Amazon.KeyManagementService.AmazonKeyManagementServiceConfig { ServiceURL = server.BaseUrl, AuthenticationRegion = "us-east-1", MaxErrorRetry = 0 });
        await kms.ListKeysAsync(new Amazon.KeyManagementService.Model.ListKeysRequest { Limit = 10 });
        var c = Last("POST");
        AssertOk(c);
        Assert.Equal("kms", c.Result.Context!.Service);
        // AWSSDK.KeyManagementService v4 sends x-amz-content-sha256 (SignedHash); other clients don't (PrecomputedHash).
        Assert.Contains(c.Result.Context.PayloadMode, new[] { PayloadMode.SignedHash, PayloadMode.PrecomputedHash });
        Assert.NotNull(c.Body);
        output.WriteLine(string.Join("; ", c.Headers.Select(h => h.Key + "=" + h.Value)));
    }

    [Fact]
    public async Task WrongSecret_IsRejected()
    {
        using var client = Client(secret: "wrong/secret/wrong/secret/wrong/secret00");
        var ex = await Assert.ThrowsAsync<AmazonS3Exception>(() =>
            client.PutObjectAsync(new PutObjectRequest { BucketName = "bucket", Key = "x", ContentBody = "data" }));
        Assert.Equal(HttpStatusCode.Forbidden, ex.StatusCode);
        Assert.Equal(SigV4Error.SignatureDoesNotMatch, Last("PUT").Result.Error);
    }
}
