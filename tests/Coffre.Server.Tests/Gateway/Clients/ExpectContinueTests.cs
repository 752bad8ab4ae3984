using System.Net.Sockets;
using System.Text;
using static Coffre.Server.Tests.Gateway.Clients.ClientTestFiles;

namespace Coffre.Server.Tests.Gateway.Clients;

/// <summary>
/// Expect: 100-continue requests answered before their body is read (an empty body, or an error first): the gateway
/// closes the connection, because botocore reuses the early response's status for the next request on a kept-alive
/// connection and then hangs for its read timeout.
/// </summary>
public sealed class ExpectContinueTests : GatewayClientTests
{
    public static TheoryData<string> Clis()
    {
        var data = new TheoryData<string> { "v2" };
        if (CliClients.AwsV1 is not null) data.Add("v1");
        return data;
    }

    [Theory]
    [MemberData(nameof(Clis))]
    public async Task An_empty_upload_followed_by_another_on_the_same_connection_does_not_stall(string version)
    {
        var aws = version == "v1" ? CliClients.AwsV1! : CliClients.AwsV2;
        // One request at a time (so the second upload reuses the first one's connection), no retries, short read
        // timeout: the stall, when present, is a failure within seconds instead of a 60 s delay.
        var environment = new Dictionary<string, string?> { ["AWS_MAX_ATTEMPTS"] = "1", ["AWS_RETRY_MODE"] = "standard" };
        Assert.Equal(0, (await Cli.AwsAsync(aws, "s3", "mb", "s3://expect-continue")).ExitCode);
        var folder = System.IO.Directory.CreateTempSubdirectory("coffre-expect-").FullName;
        try
        {
            File.Copy(PathOf("empty.bin"), Path.Combine(folder, "a-empty.bin"));
            File.Copy(PathOf("one.bin"), Path.Combine(folder, "b-one.bin"));
            File.Copy(PathOf("one.bin"), Path.Combine(folder, "c-one.bin"));
            var result = await Cli.AwsAsync(aws, "max_concurrent_requests = 1", environment,
                "s3", "cp", "--recursive", folder, "s3://expect-continue/", "--cli-read-timeout", "5", "--only-show-errors");
            result.EnsureSuccess();
            var listed = (await Cli.AwsAsync(aws, "s3", "ls", "s3://expect-continue/")).EnsureSuccess().Stdout;
            Assert.Contains("a-empty.bin", listed);
            Assert.Contains("c-one.bin", listed);
        }
        finally
        {
            System.IO.Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    public async Task A_response_sent_before_100_Continue_closes_the_connection(int contentLength)
    {
        var uri = new Uri(Gateway.Endpoint);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(uri.Host, uri.Port);
        var stream = tcp.GetStream();
        // Unsigned, so anonymous, to a bucket that does not exist: refused (404 NoSuchBucket, as S3 answers an anonymous
        // caller) before the body is read, so no 100 Continue is ever sent.
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"PUT /bucket/key HTTP/1.1\r\nHost: {uri.Authority}\r\nExpect: 100-continue\r\nContent-Length: {contentLength}\r\n\r\n"));
        var response = new StringBuilder();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!response.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var n = await stream.ReadAsync(buffer, timeout.Token);
            if (n == 0) break;
            response.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        var text = response.ToString();
        Assert.StartsWith("HTTP/1.1 404", text);
        Assert.Contains("Connection: close", text, StringComparison.OrdinalIgnoreCase);
    }
}
