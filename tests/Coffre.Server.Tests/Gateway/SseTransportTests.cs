using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Security.Cryptography;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// SSE-C over plain HTTP: refused (as AWS refuses it without TLS) unless the client is on loopback. The gateway here
/// listens in clear on the host's own non-loopback address, as an operator with AllowInsecureHttp would.
/// </summary>
public sealed class SseTransportTests
{
    [Fact]
    public async Task Customer_keys_over_plain_http_from_another_address_are_refused_and_nothing_is_stored()
    {
        var address = NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.OperationalStatus == OperationalStatus.Up)
            .SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            ?? throw new InvalidOperationException("This test needs a non-loopback IPv4 address on the host (any network interface that is up).");
        await using var gateway = await GatewayServer.StartAsync(configure: o =>
        {
            o.Listen = $"{address}:0";
            o.AllowInsecureHttp = true;
        });
        using var s3 = gateway.CreateClient();
        await s3.PutBucketAsync("clear");
        var key = RandomNumberGenerator.GetBytes(32);
        (string, string)[] sseC =
        [
            ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
            ("x-amz-server-side-encryption-customer-key", Convert.ToBase64String(key)),
            ("x-amz-server-side-encryption-customer-key-MD5", Convert.ToBase64String(MD5.HashData(key))),
        ];
        using (var put = await SendSignedAsync(gateway, HttpMethod.Put, "/clear/secret", "body"u8.ToArray(), sseC))
        {
            Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
            Assert.Equal("InvalidRequest", await ErrorCodeAsync(put));
        }
        var listed = await s3.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = "clear" });
        Assert.Empty(listed.S3Objects ?? []);
        // The same request without a customer key is served: only SSE-C needs the secure channel.
        using (var plain = await SendSignedAsync(gateway, HttpMethod.Put, "/clear/plain", "body"u8.ToArray()))
            Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
    }
}
