using System.Net;
using System.Text;
using System.Text.Json;
using Coffre.Server.Signing;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// The parser bugs the fuzz targets found (fuzz/regressions, docs/fuzzing.md), sent to a running gateway: each is a
/// client's mistake or an unusual but valid request, answered as S3 or KMS would, never with a 500.
/// </summary>
public sealed class FuzzFindingsTests : IAsyncLifetime
{
    private GatewayServer _gateway = null!;

    public async Task InitializeAsync() => _gateway = await GatewayServer.StartAsync();

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task Range_whose_last_byte_is_long_MaxValue_serves_to_the_end()
    {
        using var s3 = _gateway.CreateClient();
        await s3.PutBucketAsync("ranges");
        await s3.PutBytesAsync("ranges", "ten", "0123456789"u8.ToArray());

        // lastByte + 1 overflowed to long.MinValue: the range became [2, -9223372036854775808).
        using var response = await SendSignedAsync(_gateway, HttpMethod.Get, "/ranges/ten", headers: [("Range", "bytes=2-9223372036854775807")]);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal("bytes 2-9/10", response.Content.Headers.ContentRange?.ToString());
        Assert.Equal("23456789", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Kms_body_with_invalid_utf8_is_a_SerializationException()
    {
        // A string member holding 0xFE: valid JSON framing, not UTF-8 (Utf8JsonReader.GetString threw InvalidOperationException).
        byte[] body = [.. "{\"KeyId\":\""u8, 0xFE, .. "\"}"u8];
        var host = new Uri(_gateway.Endpoint).Authority;
        var headers = SigV4ClientSigner.KmsHeaders(host, "DescribeKey", body, GatewayServer.AccessKey, GatewayServer.SecretKey);
        using var request = new HttpRequestMessage(HttpMethod.Post, _gateway.Endpoint + "/") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/x-amz-json-1.1");
        request.Headers.TryAddWithoutValidation("X-Amz-Date", headers["x-amz-date"]);
        request.Headers.TryAddWithoutValidation("X-Amz-Target", headers["x-amz-target"]);
        request.Headers.TryAddWithoutValidation("Authorization", headers["Authorization"]);
        using var http = new HttpClient();

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("SerializationException", error.GetProperty("__type").GetString());
        Assert.Contains("UTF-8", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
