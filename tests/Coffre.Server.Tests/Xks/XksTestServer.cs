using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Coffre.Kms.Keys;
using Coffre.Server.Signing;
using Coffre.Server.Tests.Gateway;
using Coffre.Server.Xks;
using Coffre.TestSupport;

namespace Coffre.Server.Tests.Xks;

/// <summary>An answer of the XKS face: HTTP status and JSON body.</summary>
public sealed record XksAnswer(int Status, JsonElement Body)
{
    public string? ErrorName => Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty("errorName", out var e) ? e.GetString() : null;
    public byte[] Bytes(string field) => Convert.FromBase64String(Body.GetProperty(field).GetString()!);
    public override string ToString() => $"{Status} {Body}";
}

/// <summary>
/// A real gateway with the XKS face configured as in the issue (store "example/uri/path/prefix" with foo, enc-only,
/// dec-only and ghost keys; a second store "other"), called with curl --aws-sigv4 or with an in-process SigV4 signer.
/// </summary>
public sealed class XksTestServer : IAsyncDisposable
{
    public const string Prefix = "example/uri/path/prefix";
    public const string AccessKeyId = "XKSTESTACCESSKEY234567ABCD";
    public const string Secret = "FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE";
    public const string OtherPrefix = "other";
    public const string OtherAccessKeyId = "XKSOTHERSTOREKEY234567ABCD";
    public const string OtherSecret = "c2VjcmV0LW9mLXRoZS1vdGhlci1zdG9yZS0wMTIzNDU2Nzg5";
    public const string Region = "eu-west-3";

    public GatewayServer Gateway { get; }
    public KeyManager Keys => Gateway.Keys;

    private XksTestServer(GatewayServer gateway) => Gateway = gateway;

    public static async Task<XksTestServer> StartAsync(Action<Coffre.Server.Hosting.CoffreServerOptions>? configure = null)
    {
        var gateway = await GatewayServer.StartAsync(configure: o =>
        {
            o.Xks = Options();
            configure?.Invoke(o);
        }, kmsOptions: null);
        gateway.Keys.CreateKey("finance", "XKS test key", KeyManager.SystemPrincipal);
        return new XksTestServer(gateway);
    }

    public static XksOptions Options() => new()
    {
        Stores =
        [
            new XksStoreOptions
            {
                UriPrefix = Prefix, AccessKeyId = AccessKeyId, SecretAccessKey = Secret,
                Keys = new Dictionary<string, XksKeyOptions>
                {
                    ["foo"] = new() { Key = "finance", Usage = ["ENCRYPT", "DECRYPT"] },
                    ["enc-only"] = new() { Key = "finance", Usage = ["ENCRYPT"] },
                    ["dec-only"] = new() { Key = "finance", Usage = ["DECRYPT"] },
                    ["ghost"] = new() { Key = "no-such-coffre-key" },
                },
            },
            new XksStoreOptions
            {
                UriPrefix = OtherPrefix, AccessKeyId = OtherAccessKeyId, SecretAccessKey = OtherSecret,
                Keys = new Dictionary<string, XksKeyOptions> { ["bar"] = new() { Key = "default" } },
            },
        ],
    };

    public string Url(string path, string prefix = Prefix) => $"{Gateway.Endpoint}/{prefix}/kms/xks/v1/{path}";

    public static Dictionary<string, object?> Metadata(string operation, string? requestId = null) => new()
    {
        ["awsPrincipalArn"] = "arn:aws:iam::123456789012:user/Alice",
        ["kmsKeyArn"] = "arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ["kmsOperation"] = operation,
        ["kmsRequestId"] = requestId ?? Guid.NewGuid().ToString(),
        ["kmsViaService"] = "ebs",
        ["awsSourceVpce"] = "vpce-0123456789abcdef0",
    };

    /// <summary>POSTs <paramref name="body"/> with curl --aws-sigv4 "aws:amz:REGION:kms-xks-proxy".</summary>
    public async Task<XksAnswer> CurlAsync(string url, object body, string accessKeyId = AccessKeyId, string secret = Secret, string method = "POST")
    {
        var curl = Tools.RequireExecutable("curl", "sudo apt-get install -y curl (or .ci/install-test-deps.sh)");
        var dir = Directory.CreateTempSubdirectory("coffre-xks-curl-").FullName;
        try
        {
            var request = Path.Combine(dir, "request.json");
            var output = Path.Combine(dir, "answer.json");
            await File.WriteAllBytesAsync(request, JsonSerializer.SerializeToUtf8Bytes(body));
            var psi = new ProcessStartInfo(curl) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "-sS", "--aws-sigv4", $"aws:amz:{Region}:{XksFace.Service}", "--user", $"{accessKeyId}:{secret}",
                         "-X", method, "-H", "Content-Type: application/json", "--data-binary", "@" + request, "-o", output, "-w", "%{http_code}", url })
                psi.ArgumentList.Add(a);
            psi.Environment.Remove("http_proxy");
            psi.Environment.Remove("HTTP_PROXY");
            using var process = Process.Start(psi)!;
            var status = await process.StandardOutput.ReadToEndAsync();
            var error = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, $"curl failed ({process.ExitCode}): {error}");
            var text = File.Exists(output) ? await File.ReadAllTextAsync(output) : "";
            return new XksAnswer(int.Parse(status), text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>POSTs <paramref name="body"/> signed in-process the way AWS KMS signs (SignedHeaders=host;x-amz-date).</summary>
    public async Task<XksAnswer> PostAsync(string url, object body, string accessKeyId = AccessKeyId, string secret = Secret,
        DateTimeOffset? time = null, HttpClient? client = null)
    {
        var bytes = body as byte[] ?? JsonSerializer.SerializeToUtf8Bytes(body);
        var uri = new Uri(url);
        var headers = new Dictionary<string, string> { ["host"] = uri.Authority, ["x-amz-date"] = SigV4ClientSigner.Timestamp(time ?? DateTimeOffset.UtcNow) };
        var authorization = SigV4ClientSigner.Authorization("POST", uri.AbsolutePath, headers, bytes, accessKeyId, secret, Region, XksFace.Service);
        using var message = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent(bytes) };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        message.Headers.TryAddWithoutValidation("x-amz-date", headers["x-amz-date"]);
        message.Headers.TryAddWithoutValidation("Authorization", authorization);
        var owned = client is null ? new HttpClient() : null;
        try
        {
            using var response = await (client ?? owned!).SendAsync(message);
            var text = await response.Content.ReadAsStringAsync();
            return new XksAnswer((int)response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
        }
        finally
        {
            owned?.Dispose();
        }
    }

    public static Dictionary<string, object?> EncryptBody(byte[] plaintext, byte[]? aad = null, bool integrity = true, string? requestId = null)
    {
        var body = new Dictionary<string, object?>
        {
            ["requestMetadata"] = Metadata("Encrypt", requestId),
            ["plaintext"] = Convert.ToBase64String(plaintext),
            ["encryptionAlgorithm"] = "AES_GCM",
        };
        if (aad is not null) body["additionalAuthenticatedData"] = Convert.ToBase64String(aad);
        if (integrity) body["ciphertextDataIntegrityValueAlgorithm"] = "SHA_256";
        return body;
    }

    /// <summary>The Decrypt request for an Encrypt answer, as AWS KMS sends it (the AAD given again by the caller).</summary>
    public static Dictionary<string, object?> DecryptBody(XksAnswer encrypted, byte[]? aad = null, string? requestId = null)
    {
        var body = new Dictionary<string, object?>
        {
            ["requestMetadata"] = Metadata("Decrypt", requestId),
            ["ciphertext"] = encrypted.Body.GetProperty("ciphertext").GetString(),
            ["ciphertextMetadata"] = encrypted.Body.GetProperty("ciphertextMetadata").GetString(),
            ["initializationVector"] = encrypted.Body.GetProperty("initializationVector").GetString(),
            ["authenticationTag"] = encrypted.Body.GetProperty("authenticationTag").GetString(),
            ["encryptionAlgorithm"] = "AES_GCM",
        };
        if (aad is not null) body["additionalAuthenticatedData"] = Convert.ToBase64String(aad);
        return body;
    }

    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    public ValueTask DisposeAsync() => Gateway.DisposeAsync();
}
