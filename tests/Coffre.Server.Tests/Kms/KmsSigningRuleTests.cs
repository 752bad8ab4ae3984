using System.Net;
using System.Text;
using System.Text.Json;
using Amazon.S3.Model;
using Coffre.Server.Signing;
using Coffre.Server.Tests.Gateway;
using Coffre.Server.Tests.Signing;

namespace Coffre.Server.Tests.Kms;

/// <summary>
/// Only S3 may leave its body out of the signature: a KMS request whose body is not bound to its signature (a presigned
/// URL, UNSIGNED-PAYLOAD, an S3-scoped signature with a TrentService target) would let its holder decrypt any ciphertext.
/// </summary>
public sealed class KmsSigningRuleTests : IAsyncLifetime
{
    private GatewayServer _gateway = null!;
    private HttpClient _http = null!;
    private string _blob = null!;

    public async Task InitializeAsync()
    {
        _gateway = await GatewayServer.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(_gateway.Endpoint) };
        _blob = Convert.ToBase64String(_gateway.Keys.Encrypt("default", "the victim's secret"u8, null, "test"));
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _gateway.DisposeAsync();
    }

    private string Host => new Uri(_gateway.Endpoint).Authority;
    private static string Timestamp => SigV4ClientSigner.Timestamp(DateTimeOffset.UtcNow);

    private static async Task AssertRefused(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("Plaintext", text);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("InvalidSignatureException", JsonDocument.Parse(text).RootElement.GetProperty("__type").GetString());
    }

    private HttpRequestMessage Decrypt(string pathAndQuery, IEnumerable<(string, string)> headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, pathAndQuery)
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes($$"""{"CiphertextBlob":"{{_blob}}"}""")),
        };
        request.Content.Headers.ContentType = new("application/x-amz-json-1.1");
        foreach (var (n, v) in headers) request.Headers.TryAddWithoutValidation(n, v);
        return request;
    }

    [Fact]
    public async Task A_presigned_kms_decrypt_url_is_refused_whatever_the_body()
    {
        // A URL presigned (by the key's rightful user) for a Decrypt, its body left unsigned as S3 presigned URLs do.
        var timestamp = Timestamp;
        var scope = SigV4Canonicalizer.Scope(timestamp[..8], "us-east-1", "kms");
        var query = $"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={Uri.EscapeDataString(GatewayServer.AccessKey + "/" + scope)}" +
                    $"&X-Amz-Date={timestamp}&X-Amz-Expires=604800&X-Amz-SignedHeaders=host%3Bx-amz-target";
        var canonical = SigV4Canonicalizer.CanonicalRequest("POST", "/", SigV4Canonicalizer.CanonicalQuery(query),
            [("host", Host), ("x-amz-target", "TrentService.Decrypt")], "host;x-amz-target", SigV4Canonicalizer.UnsignedPayload);
        var signature = SigV4Canonicalizer.Sign(SigV4Canonicalizer.DeriveSigningKey(GatewayServer.SecretKey, timestamp[..8], "us-east-1", "kms"),
            SigV4Canonicalizer.StringToSign(timestamp, scope, canonical));

        using var request = Decrypt($"/?{query}&X-Amz-Signature={signature}", [("X-Amz-Target", "TrentService.Decrypt")]);
        await AssertRefused(await _http.SendAsync(request));
    }

    [Fact]
    public async Task Unsigned_payload_on_kms_is_refused()
    {
        var headers = new Dictionary<string, string>
        {
            ["host"] = Host, ["x-amz-date"] = Timestamp, ["x-amz-target"] = "TrentService.Decrypt",
            ["x-amz-content-sha256"] = SigV4Canonicalizer.UnsignedPayload,
        };
        // Signed over UNSIGNED-PAYLOAD in place of the body's hash.
        var canonical = SigV4Canonicalizer.CanonicalRequest("POST", "/", "", headers.OrderBy(h => h.Key, StringComparer.Ordinal).Select(h => (h.Key, h.Value)).ToList(),
            string.Join(';', headers.Keys.Order(StringComparer.Ordinal)), SigV4Canonicalizer.UnsignedPayload);
        var scope = SigV4Canonicalizer.Scope(headers["x-amz-date"][..8], "us-east-1", "kms");
        var signature = SigV4Canonicalizer.Sign(SigV4Canonicalizer.DeriveSigningKey(GatewayServer.SecretKey, headers["x-amz-date"][..8], "us-east-1", "kms"),
            SigV4Canonicalizer.StringToSign(headers["x-amz-date"], scope, canonical));
        var authorization = $"AWS4-HMAC-SHA256 Credential={GatewayServer.AccessKey}/{scope}, SignedHeaders={string.Join(';', headers.Keys.Order(StringComparer.Ordinal))}, Signature={signature}";

        using var request = Decrypt("/", [("X-Amz-Target", "TrentService.Decrypt"), ("X-Amz-Date", headers["x-amz-date"]),
            ("x-amz-content-sha256", SigV4Canonicalizer.UnsignedPayload), ("Authorization", authorization)]);
        await AssertRefused(await _http.SendAsync(request));
    }

    [Fact]
    public async Task A_signature_for_s3_does_not_reach_the_kms_face()
    {
        // Signed for s3 with an unsigned payload, but addressed to TrentService: it is an S3 request (POST / is no S3 operation).
        var r = await RawHttp.SendAsync(_gateway, "POST", "/", SignedS3(("x-amz-target", "TrentService.Decrypt")), Encoding.UTF8.GetBytes($$"""{"CiphertextBlob":"{{_blob}}"}"""));
        Assert.DoesNotContain("Plaintext", r.Body);
        Assert.Equal(405, r.Status);
    }

    private List<(string, string)> SignedS3(params (string Name, string Value)[] extra)
    {
        var signed = TestSigner.Sign("POST", "/", "", extra, SigV4Canonicalizer.UnsignedPayload, DateTimeOffset.UtcNow,
            accessKey: GatewayServer.AccessKey, secret: GatewayServer.SecretKey, host: Host);
        return [.. signed.Headers.SelectMany(h => h.Value.Select(v => (h.Key, v)))];
    }

    [Fact]
    public async Task A_signed_kms_request_and_an_s3_presigned_get_still_work()
    {
        using var s3 = _gateway.CreateClient();
        await s3.PutBucketAsync("presigned");
        await s3.PutBytesAsync("presigned", "k", "shared"u8.ToArray());
        var url = await s3.GetPreSignedURLAsync(new GetPreSignedUrlRequest
        {
            BucketName = "presigned", Key = "k", Expires = DateTime.UtcNow.AddMinutes(5), Protocol = Amazon.S3.Protocol.HTTP,
        });
        Assert.Equal("shared", await _http.GetStringAsync(url));

        var body = Encoding.UTF8.GetBytes($$"""{"CiphertextBlob":"{{_blob}}"}""");
        var headers = SigV4ClientSigner.KmsHeaders(Host, "Decrypt", body, GatewayServer.AccessKey, GatewayServer.SecretKey);
        using var request = Decrypt("/", [("X-Amz-Target", "TrentService.Decrypt"), ("X-Amz-Date", headers["x-amz-date"]), ("Authorization", headers["Authorization"])]);
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var plaintext = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("Plaintext").GetString();
        Assert.Equal("the victim's secret"u8.ToArray(), Convert.FromBase64String(plaintext!));
    }
}
