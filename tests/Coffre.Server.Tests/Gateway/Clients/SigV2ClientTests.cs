using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Coffre.TestSupport;

namespace Coffre.Server.Tests.Gateway.Clients;

/// <summary>
/// Signature Version 2 from real clients against a gateway with a virtual-hosted domain: boto3's HmacV1 signer
/// (tests/clients/boto3_sigv2_virtual.py, which also drives virtual-hosted buckets with SigV2 and SigV4), s3cmd
/// --signature-v2, presigned URLs from the AWS CLI v1 and boto3 fetched with curl, and curl with hand-signed headers.
/// </summary>
public sealed class SigV2ClientTests() : GatewayClientTests("coffre-sigv2-")
{
    private const string Domain = "s3.coffre.test";
    private const string Python = "/usr/bin/python3";

    protected override Task<GatewayServer> StartGatewayAsync() => GatewayServer.StartAsync(configure: o => o.Domains = [Domain]);

    private int Port => new Uri(Gateway.Endpoint).Port;

    [Fact]
    public async Task Boto3_signs_with_sigv2_and_addresses_virtual_hosted_buckets()
    {
        if (!File.Exists(Python)) throw new InvalidOperationException($"{Python} is missing; install python3-boto3 (sudo .ci/install-test-deps.sh).");
        var script = Path.Combine(Tools.FindRepositoryRoot()!, "tests", "clients", "boto3_sigv2_virtual.py");
        var result = await Cli.RunAsync(Python, [script], new Dictionary<string, string?>
        {
            ["ENDPOINT"] = Gateway.Endpoint,
            ["DOMAIN"] = Domain,
            ["ACCESS_KEY"] = GatewayServer.AccessKey,
            ["SECRET_KEY"] = GatewayServer.SecretKey,
        }, TimeSpan.FromMinutes(5));
        result.EnsureSuccess();
        Assert.Equal("ok", result.Stdout.Trim());
    }

    [Fact]
    public async Task S3cmd_with_signature_v2_round_trips()
    {
        var file = Path.Combine(ScratchDirectory(), "up.bin");
        var bytes = RandomNumberGenerator.GetBytes(70_000);
        await File.WriteAllBytesAsync(file, bytes);
        (await Cli.S3cmdAsync("--signature-v2", "mb", "s3://s3cmd-v2")).EnsureSuccess();
        (await Cli.S3cmdAsync("--signature-v2", "put", file, "s3://s3cmd-v2/dir/up.bin")).EnsureSuccess();
        var ls = (await Cli.S3cmdAsync("--signature-v2", "ls", "s3://s3cmd-v2/dir/")).EnsureSuccess();
        Assert.Contains("s3://s3cmd-v2/dir/up.bin", ls.Stdout);
        var down = Path.Combine(ScratchDirectory(), "down.bin");
        (await Cli.S3cmdAsync("--signature-v2", "get", "s3://s3cmd-v2/dir/up.bin", down)).EnsureSuccess();
        Assert.Equal(bytes, await File.ReadAllBytesAsync(down));
        (await Cli.S3cmdAsync("--signature-v2", "del", "s3://s3cmd-v2/dir/up.bin")).EnsureSuccess();
        Assert.DoesNotContain("up.bin", (await Cli.S3cmdAsync("--signature-v2", "ls", "s3://s3cmd-v2/dir/")).EnsureSuccess().Stdout);
    }

    /// <summary>The presigners at hand: boto3's (Debian), and the AWS CLI v1's `s3 presign` when one is on PATH (its default is SigV2).</summary>
    public static TheoryData<string> Presigners()
    {
        var data = new TheoryData<string> { "boto3" };
        if (CliClients.AwsV1 is not null) data.Add("aws-v1");
        return data;
    }

    [Theory]
    [MemberData(nameof(Presigners))]
    public async Task A_sigv2_presigned_url_is_fetched_by_curl(string presigner)
    {
        using var s3 = Gateway.CreateClient();
        await s3.PutBucketAsync("presign-v2");
        var bytes = RandomNumberGenerator.GetBytes(5000);
        await s3.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest { BucketName = "presign-v2", Key = "a b/c.bin", InputStream = new MemoryStream(bytes) });

        var url = presigner == "aws-v1"
            ? (await Cli.RunAsync(CliClients.AwsV1!, ["--endpoint-url", Gateway.Endpoint, "s3", "presign", "s3://presign-v2/a b/c.bin", "--expires-in", "300"],
                new Dictionary<string, string?>(Gateway.ClientEnvironment()))).EnsureSuccess().Stdout.Trim()
            : (await Cli.RunAsync(Python, ["-c",
                "import boto3,sys;from botocore.config import Config;" +
                "c=boto3.client('s3',endpoint_url=sys.argv[1],aws_access_key_id=sys.argv[2],aws_secret_access_key=sys.argv[3],region_name='us-east-1'," +
                "config=Config(signature_version='s3',s3={'addressing_style':'path'}));" +
                "print(c.generate_presigned_url('get_object',Params={'Bucket':'presign-v2','Key':'a b/c.bin'},ExpiresIn=300))",
                Gateway.Endpoint, GatewayServer.AccessKey, GatewayServer.SecretKey])).EnsureSuccess().Stdout.Trim();
        Assert.Contains("AWSAccessKeyId=", url);
        Assert.DoesNotContain("X-Amz-Signature", url);

        var output = Path.Combine(ScratchDirectory(), "got.bin");
        var fetched = (await Cli.CurlAsync(url, output)).EnsureSuccess();
        Assert.Equal("200", fetched.Stdout.Trim());
        Assert.Equal(bytes, await File.ReadAllBytesAsync(output));

        // The signature covers the key: the same URL for another key is refused with S3's code.
        var other = (await Cli.CurlAsync(url.Replace("c.bin", "d.bin", StringComparison.Ordinal), output)).EnsureSuccess();
        Assert.Equal("403", other.Stdout.Trim());
        Assert.Contains("<Code>SignatureDoesNotMatch</Code>", await File.ReadAllTextAsync(output));
    }

    private static string Sign(string stringToSign) =>
        Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(GatewayServer.SecretKey), Encoding.UTF8.GetBytes(stringToSign)));

    private static string Now(DateTimeOffset? at = null) => (at ?? DateTimeOffset.UtcNow).UtcDateTime.ToString("r", CultureInfo.InvariantCulture);

    /// <summary>curl with a SigV2 Authorization header computed here from the guide's string-to-sign layout; returns status and body.</summary>
    private async Task<(string Status, string Body)> Curl(string method, string url, string stringToSign, IEnumerable<string> headers, string? uploadFile = null,
        string? connectTo = null)
    {
        var output = Path.Combine(ScratchDirectory(), "out");
        string[] args = ["-sS", .. method == "HEAD" ? ["-I"] : new[] { "-X", method }, "-o", output, "-w", "%{http_code}", "-H", $"Authorization: AWS {GatewayServer.AccessKey}:{Sign(stringToSign)}",
            .. headers.SelectMany(h => new[] { "-H", h }), .. uploadFile is null ? Array.Empty<string>() : ["--data-binary", "@" + uploadFile],
            .. connectTo is null ? Array.Empty<string>() : ["--connect-to", connectTo], url];
        var r = (await Cli.RunAsync(CliClients.Curl, args)).EnsureSuccess();
        return (r.Stdout.Trim(), File.Exists(output) ? await File.ReadAllTextAsync(output) : "");
    }

    [Fact]
    public async Task Curl_with_hand_signed_sigv2_headers()
    {
        var body = Path.Combine(ScratchDirectory(), "body.txt");
        await File.WriteAllTextAsync(body, "hello sigv2");
        var md5 = Convert.ToBase64String(MD5.HashData("hello sigv2"u8));
        var date = Now();

        Assert.Equal("200", (await Curl("PUT", $"{Gateway.Endpoint}/curl-v2", $"PUT\n\n\n{date}\n/curl-v2", [$"Date: {date}"])).Status);
        var put = await Curl("PUT", $"{Gateway.Endpoint}/curl-v2/k.txt", $"PUT\n{md5}\ntext/plain\n{date}\nx-amz-meta-who:curl\n/curl-v2/k.txt",
            [$"Date: {date}", $"Content-MD5: {md5}", "Content-Type: text/plain", "x-amz-meta-who: curl"], body);
        Assert.Equal("200", put.Status);
        var get = await Curl("GET", $"{Gateway.Endpoint}/curl-v2/k.txt", $"GET\n\n\n\nx-amz-date:{date}\n/curl-v2/k.txt", [$"x-amz-date: {date}"]);
        Assert.Equal(("200", "hello sigv2"), get);

        // Content-MD5 is signed but the body is not: a body that does not match it is BadDigest, and nothing is stored.
        var wrongMd5 = Convert.ToBase64String(MD5.HashData("other"u8));
        var bad = await Curl("PUT", $"{Gateway.Endpoint}/curl-v2/bad.txt", $"PUT\n{wrongMd5}\ntext/plain\n{date}\n/curl-v2/bad.txt",
            [$"Date: {date}", $"Content-MD5: {wrongMd5}", "Content-Type: text/plain"], body);
        Assert.Equal("400", bad.Status);
        Assert.Contains("<Code>BadDigest</Code>", bad.Body);
        Assert.Equal("404", (await Curl("HEAD", $"{Gateway.Endpoint}/curl-v2/bad.txt", $"HEAD\n\n\n{date}\n/curl-v2/bad.txt", [$"Date: {date}"])).Status);

        // A signature over another string: SignatureDoesNotMatch, showing the string Coffre expected and its bytes.
        var mismatch = await Curl("GET", $"{Gateway.Endpoint}/curl-v2/k.txt", $"GET\n\n\n{date}\n/curl-v2/other", [$"Date: {date}"]);
        Assert.Equal("403", mismatch.Status);
        Assert.Contains("<Code>SignatureDoesNotMatch</Code>", mismatch.Body);
        Assert.Contains($"<StringToSign>GET\n\n\n{date}\n/curl-v2/k.txt</StringToSign>", mismatch.Body);
        Assert.Contains("<StringToSignBytes>47 45 54 0a", mismatch.Body);

        var old = Now(DateTimeOffset.UtcNow.AddMinutes(-20));
        var skewed = await Curl("GET", $"{Gateway.Endpoint}/curl-v2/k.txt", $"GET\n\n\n{old}\n/curl-v2/k.txt", [$"Date: {old}"]);
        Assert.Equal("403", skewed.Status);
        Assert.Contains("<Code>RequestTimeTooSkewed</Code>", skewed.Body);

        var nobody = await Cli.RunAsync(CliClients.Curl, ["-sS", "-w", "%{http_code}", "-H", $"Date: {date}", "-H", "Authorization: AWS AKIANOBODY000000000:c2lnbmF0dXJl",
            $"{Gateway.Endpoint}/curl-v2/k.txt"]);
        Assert.EndsWith("403", nobody.Stdout.Trim());
        Assert.Contains("<Code>InvalidAccessKeyId</Code>", nobody.Stdout);

        // Virtual-hosted, a bucket name with dots: the signed resource starts with /bucket, curl reaches loopback by --connect-to.
        var host = $"dotted.bucket.{Domain}";
        var connect = $"{host}:{Port}:127.0.0.1:{Port}";
        Assert.Equal("200", (await Curl("PUT", $"http://{host}:{Port}/", $"PUT\n\n\n{date}\n/dotted.bucket/", [$"Date: {date}"], connectTo: connect)).Status);
        Assert.Equal("200", (await Curl("PUT", $"http://{host}:{Port}/a/b.txt", $"PUT\n\ntext/plain\n{date}\n/dotted.bucket/a/b.txt", [$"Date: {date}", "Content-Type: text/plain"], body, connect)).Status);
        Assert.Equal(("200", "hello sigv2"), await Curl("GET", $"{Gateway.Endpoint}/dotted.bucket/a/b.txt", $"GET\n\n\n{date}\n/dotted.bucket/a/b.txt", [$"Date: {date}"]));
        var list = await Curl("GET", $"http://{host}:{Port}/?prefix=a/", $"GET\n\n\n{date}\n/dotted.bucket/", [$"Date: {date}"], connectTo: connect);
        Assert.Equal("200", list.Status);
        Assert.Contains("<Key>a/b.txt</Key>", list.Body);
    }

    [Fact]
    public async Task The_kms_face_keeps_refusing_sigv2()
    {
        var date = Now();
        var r = await Cli.RunAsync(CliClients.Curl, ["-sS", "-w", "\n%{http_code}", "-X", "POST", "-H", $"Date: {date}", "-H", "X-Amz-Target: TrentService.ListKeys",
            "-H", "Content-Type: application/x-amz-json-1.1", "-H", $"Authorization: AWS {GatewayServer.AccessKey}:{Sign($"POST\n\napplication/x-amz-json-1.1\n{date}\n/")}",
            "--data", "{}", Gateway.Endpoint + "/"]);
        var lines = r.EnsureSuccess().Stdout.Trim().Split('\n');
        Assert.Equal("400", lines[^1]);
        Assert.Contains("\"__type\"", lines[0]);
        Assert.DoesNotContain("<Error>", lines[0]);
    }
}
