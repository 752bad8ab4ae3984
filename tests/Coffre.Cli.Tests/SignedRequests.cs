using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Coffre.Server.Signing;
using Coffre.TestSupport;

namespace Coffre.Cli.Tests;

/// <summary>S3 and KMS requests to a `coffre serve` process, signed with SigV4 by its root credentials.</summary>
public static class SignedRequests
{
    public static async Task<byte[]> S3Async(CoffreServeProcess server, HttpMethod method, string path, byte[] body)
    {
        using var http = new HttpClient();
        var headers = new Dictionary<string, string>
        {
            ["host"] = $"127.0.0.1:{server.Port}",
            ["x-amz-date"] = SigV4ClientSigner.Timestamp(DateTimeOffset.UtcNow),
            ["x-amz-content-sha256"] = Convert.ToHexStringLower(SHA256.HashData(body)),
        };
        var authorization = SigV4ClientSigner.Authorization(method.Method, path, headers, body, CoffreServeProcess.AccessKey, CoffreServeProcess.SecretKey, "us-east-1", "s3");
        using var request = new HttpRequestMessage(method, server.Endpoint + path) { Content = method == HttpMethod.Get ? null : new ByteArrayContent(body) };
        request.Headers.TryAddWithoutValidation("x-amz-date", headers["x-amz-date"]);
        request.Headers.TryAddWithoutValidation("x-amz-content-sha256", headers["x-amz-content-sha256"]);
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        using var response = await http.SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{method} {path}: {(int)response.StatusCode} {Encoding.UTF8.GetString(bytes)}");
        return bytes;
    }

    public static async Task<JsonElement> KmsAsync(CoffreServeProcess server, string operation, object request)
    {
        using var http = new HttpClient();
        var body = JsonSerializer.SerializeToUtf8Bytes(request);
        var headers = SigV4ClientSigner.KmsHeaders($"127.0.0.1:{server.Port}", operation, body, CoffreServeProcess.AccessKey, CoffreServeProcess.SecretKey);
        using var message = new HttpRequestMessage(HttpMethod.Post, server.Endpoint + "/") { Content = new ByteArrayContent(body) };
        foreach (var (name, value) in headers)
            if (name == "content-type") message.Content.Headers.TryAddWithoutValidation("Content-Type", value);
            else if (name != "host") message.Headers.TryAddWithoutValidation(name, value);
        using var response = await http.SendAsync(message);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"KMS {operation}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
