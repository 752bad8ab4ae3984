using System.Net;
using System.Text;
using System.Text.Json;
using Coffre.Kms.Audit;
using Coffre.Server.Signing;
using Coffre.Server.Tests.Gateway;

namespace Coffre.Server.Tests.Kms;

/// <summary>Raw HTTP against the KMS face: the wire shape of answers and of every bad-input error.</summary>
public sealed class KmsProtocolTests : IAsyncLifetime
{
    private GatewayServer _gateway = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _gateway = await GatewayServer.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(_gateway.Endpoint) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _gateway.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> Send(string operation, string json,
        string? secret = null, bool sign = true, string? targetOverride = null)
    {
        var body = Encoding.UTF8.GetBytes(json);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/x-amz-json-1.1");
        var host = new Uri(_gateway.Endpoint).Authority;
        if (sign)
        {
            var headers = SigV4ClientSigner.KmsHeaders(host, operation, body, GatewayServer.AccessKey, secret ?? GatewayServer.SecretKey);
            request.Headers.TryAddWithoutValidation("X-Amz-Date", headers["x-amz-date"]);
            request.Headers.TryAddWithoutValidation("Authorization", headers["Authorization"]);
        }
        request.Headers.TryAddWithoutValidation("X-Amz-Target", targetOverride ?? "TrentService." + operation);
        var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal("application/x-amz-json-1.1", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.Contains("x-amzn-RequestId"));
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone(), response);
    }

    private static void AssertError(HttpStatusCode expectedStatus, string type, (HttpStatusCode Status, JsonElement Body, HttpResponseMessage _) r)
    {
        Assert.Equal(type, r.Body.GetProperty("__type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(r.Body.GetProperty("message").GetString()));
        Assert.Equal(expectedStatus, r.Status);
    }

    private string KeyId => _gateway.Keys.DescribeKey("default", "test").Id;

    [Fact]
    public async Task Encrypt_answers_the_aws_shape()
    {
        var r = await Send("Encrypt", $$$"""{"KeyId":"{{{KeyId}}}","Plaintext":"aGVsbG8=","EncryptionContext":{"a":"b"}}""");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.StartsWith("arn:aws:kms:us-east-1:000000000000:key/", r.Body.GetProperty("KeyId").GetString());
        Assert.Equal("SYMMETRIC_DEFAULT", r.Body.GetProperty("EncryptionAlgorithm").GetString());
        var blob = r.Body.GetProperty("CiphertextBlob").GetString();
        var d = await Send("Decrypt", $$$"""{"CiphertextBlob":"{{{blob}}}","EncryptionContext":{"a":"b"}}""");
        Assert.Equal("aGVsbG8=", d.Body.GetProperty("Plaintext").GetString());
    }

    [Fact]
    public async Task Malformed_json_is_a_serialization_exception() =>
        AssertError(HttpStatusCode.BadRequest, "SerializationException", await Send("Encrypt", """{"KeyId": "default", "Plaintext": """));

    [Fact]
    public async Task Wrong_member_type_is_a_serialization_exception() =>
        AssertError(HttpStatusCode.BadRequest, "SerializationException", await Send("Encrypt", """{"KeyId": 12, "Plaintext": "aGk="}"""));

    [Fact]
    public async Task Unknown_target_is_an_unknown_operation_exception()
    {
        AssertError(HttpStatusCode.BadRequest, "UnknownOperationException", await Send("FrobnicateKey", "{}"));
        AssertError(HttpStatusCode.BadRequest, "UnknownOperationException", await Send("", "{}"));
    }

    [Fact]
    public async Task Oversize_plaintext_is_a_validation_exception()
    {
        var r = await Send("Encrypt", $$"""{"KeyId":"default","Plaintext":"{{Convert.ToBase64String(new byte[4097])}}"}""");
        AssertError(HttpStatusCode.BadRequest, "ValidationException", r);
        Assert.Contains("4096", r.Body.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.OK, (await Send("Encrypt", $$"""{"KeyId":"default","Plaintext":"{{Convert.ToBase64String(new byte[4096])}}"}""")).Status);
    }

    [Fact]
    public async Task Invalid_base64_is_a_validation_exception()
    {
        var r = await Send("Decrypt", """{"CiphertextBlob":"not base64!!"}""");
        AssertError(HttpStatusCode.BadRequest, "ValidationException", r);
        Assert.Contains("ciphertextBlob", r.Body.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Missing_members_and_bad_ranges_are_validation_exceptions()
    {
        AssertError(HttpStatusCode.BadRequest, "ValidationException", await Send("Encrypt", """{"KeyId":"default"}"""));
        AssertError(HttpStatusCode.BadRequest, "ValidationException", await Send("DescribeKey", "{}"));
        AssertError(HttpStatusCode.BadRequest, "ValidationException", await Send("GenerateRandom", """{"NumberOfBytes":2000}"""));
        AssertError(HttpStatusCode.BadRequest, "ValidationException", await Send("ListKeys", """{"Limit":0}"""));
        AssertError(HttpStatusCode.BadRequest, "InvalidMarkerException", await Send("ListKeys", """{"Marker":"zz"}"""));
        AssertError(HttpStatusCode.BadRequest, "InvalidAliasNameException", await Send("CreateAlias", $$"""{"AliasName":"alias/aws/s3","TargetKeyId":"{{KeyId}}"}"""));
        AssertError(HttpStatusCode.BadRequest, "UnsupportedOperationException", await Send("CreateKey", """{"KeySpec":"ECC_NIST_P256"}"""));
        AssertError(HttpStatusCode.BadRequest, "NotFoundException", await Send("DescribeKey", """{"KeyId":"arn:aws:kms:us-east-1:111111111111:key/x"}"""));
        AssertError(HttpStatusCode.BadRequest, "InvalidKeyUsageException", await Send("Encrypt", """{"KeyId":"default","Plaintext":"aGk=","EncryptionAlgorithm":"RSAES_OAEP_SHA_256"}"""));
    }

    [Fact]
    public async Task Authentication_failures_answer_in_the_kms_shape()
    {
        AssertError(HttpStatusCode.Forbidden, "MissingAuthenticationTokenException", await Send("ListKeys", "{}", sign: false));
        AssertError(HttpStatusCode.BadRequest, "InvalidSignatureException", await Send("ListKeys", "{}", secret: "wrong-secret-000000000"));
    }

    [Fact]
    public async Task Every_answer_is_audited()
    {
        var before = _gateway.Keys.ReadAudit(new AuditFilter { Principal = GatewayServer.AccessKey }, "test").Count;
        await Send("GenerateRandom", """{"NumberOfBytes":8}""");
        await Send("ListKeys", "{}");
        await Send("Encrypt", """{"KeyId":"no-such-key","Plaintext":"aGk="}""");
        var after = _gateway.Keys.ReadAudit(new AuditFilter { Principal = GatewayServer.AccessKey }, "test");
        Assert.Equal(before + 3, after.Count);
        Assert.Equal("NotFound", after[^1].Result);
    }
}
