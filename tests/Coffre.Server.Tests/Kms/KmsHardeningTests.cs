using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Coffre.Server.Auth;
using Coffre.Server.Signing;
using Coffre.Server.Tests.Gateway;

namespace Coffre.Server.Tests.Kms;

/// <summary>The KMS face answers malformed input, altered ciphertexts and key-state changes exactly as AWS KMS does.</summary>
public sealed class KmsHardeningTests : IAsyncLifetime
{
    private const string AppKey = "AKIACOFFREAPP0000002";
    private const string AppSecret = "coffre-app-secret-0000000000000000002";
    private GatewayServer _gateway = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _gateway = await GatewayServer.StartAsync(configure: o => o.AccessKeys.Add(new AccessKeyOptions
        {
            AccessKeyId = AppKey, SecretAccessKey = AppSecret, Buckets = [], KmsKeys = ["alias/app"], KmsOperations = ["Decrypt", "ReEncrypt", "Encrypt"],
        }));
        _gateway.Keys.CreateKey("app", null, "test");
        _gateway.Keys.CreateAlias("alias/app", "app", "test");
        _gateway.Keys.CreateKey("hidden-payroll", null, "test");
        _http = new HttpClient { BaseAddress = new Uri(_gateway.Endpoint) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _gateway.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, string Type, string Message, JsonElement Body)> Send(string operation, byte[] body,
        string accessKey = GatewayServer.AccessKey, string secret = GatewayServer.SecretKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/x-amz-json-1.1");
        var headers = SigV4ClientSigner.KmsHeaders(new Uri(_gateway.Endpoint).Authority, operation, body, accessKey, secret);
        foreach (var name in new[] { "x-amz-date", "x-amz-target", "Authorization" }) request.Headers.TryAddWithoutValidation(name, headers[name]);
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.False(string.IsNullOrEmpty(text), $"{operation}: {(int)response.StatusCode} with an empty body");
        var json = JsonDocument.Parse(text).RootElement.Clone();
        return (response.StatusCode, json.TryGetProperty("__type", out var t) ? t.GetString()! : "",
            json.TryGetProperty("message", out var m) ? m.GetString()! : "", json);
    }

    private Task<(HttpStatusCode Status, string Type, string Message, JsonElement Body)> Send(string operation, string json,
        string accessKey = GatewayServer.AccessKey, string secret = GatewayServer.SecretKey) => Send(operation, Encoding.UTF8.GetBytes(json), accessKey, secret);

    private async Task<double> Counted(string operation, string code)
    {
        var line = (await _http.GetStringAsync("/metrics")).Split('\n')
            .FirstOrDefault(l => l.StartsWith($"coffre_requests_total{{face=\"kms\",operation=\"{operation}\",code=\"{code}\"}} ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Invalid_utf8_inside_a_json_string_is_a_serialization_exception_counted_as_such()
    {
        var body = Encoding.UTF8.GetBytes("""{"KeyId":"app","Plaintext":"aGk=","EncryptionContext":{"k":"v?"}}""");
        body[Array.LastIndexOf(body, (byte)'?')] = 0xFF;
        var r = await Send("Encrypt", body);
        Assert.Equal(HttpStatusCode.BadRequest, r.Status);
        Assert.Equal("SerializationException", r.Type);
        Assert.Equal(1, await Counted("Encrypt", "SerializationException"));
        Assert.Equal(0, await Counted("Encrypt", "OK"));

        var inName = Encoding.UTF8.GetBytes("""{"KeyId":"app","Plaintext":"aGk=","?":1}""");
        inName[Array.IndexOf(inName, (byte)'?')] = 0xC0;
        Assert.Equal("SerializationException", (await Send("Encrypt", inName)).Type);
    }

    [Theory]
    [InlineData("Decrypt")]
    [InlineData("ReEncrypt")]
    public async Task A_KeyId_does_not_reveal_the_key_a_ciphertext_names(string operation)
    {
        var hiddenId = _gateway.Keys.DescribeKey("hidden-payroll", "test").Id;
        var blob = Convert.ToBase64String(_gateway.Keys.Encrypt("hidden-payroll", "payroll"u8, null, "test"));
        var withKeyId = operation == "Decrypt"
            ? await Send(operation, $$"""{"CiphertextBlob":"{{blob}}","KeyId":"alias/app"}""", AppKey, AppSecret)
            : await Send(operation, $$"""{"CiphertextBlob":"{{blob}}","SourceKeyId":"alias/app","DestinationKeyId":"alias/app"}""", AppKey, AppSecret);
        var without = operation == "Decrypt"
            ? await Send(operation, $$"""{"CiphertextBlob":"{{blob}}"}""", AppKey, AppSecret)
            : await Send(operation, $$"""{"CiphertextBlob":"{{blob}}","DestinationKeyId":"alias/app"}""", AppKey, AppSecret);

        Assert.Equal("AccessDeniedException", without.Type);
        Assert.Equal((without.Status, without.Type, without.Message), (withKeyId.Status, withKeyId.Type, withKeyId.Message));
        Assert.DoesNotContain("hidden-payroll", withKeyId.Message);
        Assert.DoesNotContain("hidden-payroll", withKeyId.Body.ToString());
        _ = hiddenId;
    }

    [Fact]
    public async Task A_KeyId_naming_another_usable_key_is_IncorrectKey_without_naming_the_blobs_key()
    {
        var blob = Convert.ToBase64String(_gateway.Keys.Encrypt("hidden-payroll", "payroll"u8, null, "test"));
        var r = await Send("Decrypt", $$"""{"CiphertextBlob":"{{blob}}","KeyId":"alias/app"}""");
        Assert.Equal("IncorrectKeyException", r.Type);
        Assert.DoesNotContain("hidden-payroll", r.Message);
        Assert.DoesNotContain(_gateway.Keys.DescribeKey("hidden-payroll", "test").Id, r.Message);
    }

    [Fact]
    public async Task Cancel_key_deletion_leaves_the_key_disabled_as_aws_does()
    {
        var keyId = _gateway.Keys.CreateKey("to-cancel", null, "test").Id;
        Assert.Equal(HttpStatusCode.OK, (await Send("ScheduleKeyDeletion", $$"""{"KeyId":"{{keyId}}","PendingWindowInDays":7}""")).Status);
        var cancelled = await Send("CancelKeyDeletion", $$"""{"KeyId":"{{keyId}}"}""");
        Assert.Equal(HttpStatusCode.OK, cancelled.Status);
        var described = await Send("DescribeKey", $$"""{"KeyId":"{{keyId}}"}""");
        Assert.Equal("Disabled", described.Body.GetProperty("KeyMetadata").GetProperty("KeyState").GetString());
        Assert.False(described.Body.GetProperty("KeyMetadata").GetProperty("Enabled").GetBoolean());
        Assert.Equal("DisabledException", (await Send("Encrypt", $$"""{"KeyId":"{{keyId}}","Plaintext":"aGk="}""")).Type);
        Assert.Equal(HttpStatusCode.OK, (await Send("EnableKey", $$"""{"KeyId":"{{keyId}}"}""")).Status);
        Assert.Equal(HttpStatusCode.OK, (await Send("Encrypt", $$"""{"KeyId":"{{keyId}}","Plaintext":"aGk="}""")).Status);
    }

    [Fact]
    public async Task A_ciphertext_altered_in_any_header_byte_is_InvalidCiphertext()
    {
        _gateway.Keys.RotateKey("app", "test"); // versions 1 and 2: an altered version may name either, or none
        var blob = _gateway.Keys.Encrypt("app", "header"u8, null, "test");
        var headerLength = 4 + 1 + 2 + 36 + 4; // magic, format version, key id length, key id, key version
        var answers = new List<string>();
        for (var i = 0; i < headerLength; i++)
        {
            foreach (var flip in new byte[] { 0x01, 0x20, 0x80 })
            {
                var altered = (byte[])blob.Clone();
                altered[i] ^= flip;
                var r = await Send("Decrypt", $$"""{"CiphertextBlob":"{{Convert.ToBase64String(altered)}}"}""");
                answers.Add($"byte {i} ^ 0x{flip:x2}: {r.Type}");
            }
        }
        Assert.All(answers, a => Assert.EndsWith(": InvalidCiphertextException", a));
        Assert.Equal(HttpStatusCode.OK, (await Send("Decrypt", $$"""{"CiphertextBlob":"{{Convert.ToBase64String(blob)}}"}""")).Status);
    }
}
