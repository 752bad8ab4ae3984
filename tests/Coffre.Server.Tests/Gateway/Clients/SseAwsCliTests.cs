using System.Security.Cryptography;
using Coffre.Kms.Keys;
using Coffre.Objects;
using Coffre.TestSupport;

namespace Coffre.Server.Tests.Gateway.Clients;

/// <summary>
/// The AWS CLI's own server-side-encryption options against a real gateway (issue 21): `--sse aws:kms
/// --sse-kms-key-id` chooses the key that wraps the object's data key (and so what the impact report lists),
/// `--sse AES256` is echoed, and `--sse-c` makes the client's key a second key: nothing comes back without it.
/// </summary>
public abstract class SseAwsCliTests() : GatewayClientTests("coffre-sse-")
{
    private const int MiB = 1024 * 1024;
    private const string CustomerKey = "0123456789abcdef0123456789abcdef";
    private const string OtherKey = "fedcba9876543210fedcba9876543210";

    protected abstract string Aws { get; }

    private Task<CliResult> Run(params string[] args) => Cli.AwsAsync(Aws, args);
    private async Task<CliResult> Ok(params string[] args) => (await Run(args)).EnsureSuccess();

    private async Task<CliResult> Refused(params string[] args)
    {
        var result = await Run(args);
        Assert.True(result.ExitCode != 0, $"`{result.Command}` succeeded but should have been refused: {result.Stdout}");
        return result;
    }

    private string File(string name, int size)
    {
        var path = Path.Combine(ScratchDirectory(), name);
        System.IO.File.WriteAllBytes(path, RandomNumberGenerator.GetBytes(size));
        return path;
    }

    [Fact]
    public async Task Sse_kms_chooses_the_key_head_reports_its_arn_and_the_impact_report_lists_exactly_its_objects()
    {
        var finance = Gateway.Keys.CreateKey("finance", "SSE-KMS test", KeyManager.SystemPrincipal);
        Gateway.Keys.CreateAlias("alias/finance", "finance", KeyManager.SystemPrincipal);
        var arn = $"arn:aws:kms:us-east-1:{Gateway.Options.KmsAccountId}:key/{finance.Id}";
        await Ok("s3", "mb", "s3://sse");
        var small = File("small.bin", 100_000);
        var big = File("big.bin", 10 * MiB); // multipart (8 MiB parts)
        await Ok("s3", "cp", small, "s3://sse/by-alias.bin", "--sse", "aws:kms", "--sse-kms-key-id", "alias/finance");
        await Ok("s3", "cp", big, "s3://sse/big.bin", "--sse", "aws:kms", "--sse-kms-key-id", arn);
        await Ok("s3", "cp", small, "s3://sse/plain.bin");
        await Ok("s3", "cp", small, "s3://sse/sse-s3.bin", "--sse", "AES256");
        await Ok("s3", "cp", "s3://sse/plain.bin", "s3://sse/copied.bin", "--sse", "aws:kms", "--sse-kms-key-id", finance.Id);

        foreach (var name in new[] { "by-alias.bin", "big.bin", "copied.bin" })
        {
            var head = (await Ok("s3api", "head-object", "--bucket", "sse", "--key", name, "--output", "json")).Json();
            Assert.Equal("aws:kms", head.GetProperty("ServerSideEncryption").GetString());
            Assert.Equal(arn, head.GetProperty("SSEKMSKeyId").GetString());
        }
        var sseS3 = (await Ok("s3api", "head-object", "--bucket", "sse", "--key", "sse-s3.bin", "--output", "json")).Json();
        Assert.Equal("AES256", sseS3.GetProperty("ServerSideEncryption").GetString());
        var down = Path.Combine(ScratchDirectory(), "big.out");
        await Ok("s3", "cp", "s3://sse/big.bin", down);
        Assert.Equal(await System.IO.File.ReadAllBytesAsync(big), await System.IO.File.ReadAllBytesAsync(down));

        // What `coffre report impact finance` reads: exactly the three objects written under finance.
        var catalog = Gateway.Deployment.OpenCatalog();
        try
        {
            var impact = await new KeyImpact(catalog).ObjectsUnderKeyAsync(finance.Id);
            Assert.Equal(["big.bin", "by-alias.bin", "copied.bin"], impact.Select(o => o.Name).Order(StringComparer.Ordinal));
            Assert.All(impact, o => Assert.Equal("sse", o.Bucket));
        }
        finally
        {
            if (catalog is IAsyncDisposable d) await d.DisposeAsync();
        }
    }

    [Fact]
    public async Task Sse_c_objects_round_trip_ranged_multipart_and_copied_only_with_their_key()
    {
        await Ok("s3", "mb", "s3://ssec");
        var small = File("small.bin", 300_000);
        var big = File("big.bin", 10 * MiB);
        await Ok("s3", "cp", small, "s3://ssec/small.bin", "--sse-c", "AES256", "--sse-c-key", CustomerKey);
        await Ok("s3", "cp", big, "s3://ssec/big.bin", "--sse-c", "AES256", "--sse-c-key", CustomerKey);

        var scratch = ScratchDirectory();
        foreach (var (name, original) in new[] { ("small.bin", small), ("big.bin", big) })
        {
            var down = Path.Combine(scratch, name);
            await Ok("s3", "cp", $"s3://ssec/{name}", down, "--sse-c", "AES256", "--sse-c-key", CustomerKey);
            Assert.Equal(await System.IO.File.ReadAllBytesAsync(original), await System.IO.File.ReadAllBytesAsync(down));
        }
        // A range across the boundary of the two parts.
        var ranged = Path.Combine(scratch, "range.out");
        await Ok("s3api", "get-object", "--bucket", "ssec", "--key", "big.bin", "--range", $"bytes={8 * MiB - 5}-{8 * MiB + 4}",
            "--sse-customer-algorithm", "AES256", "--sse-customer-key", CustomerKey, ranged);
        Assert.Equal((await System.IO.File.ReadAllBytesAsync(big))[(8 * MiB - 5)..(8 * MiB + 5)], await System.IO.File.ReadAllBytesAsync(ranged));

        // Without the key, or with another: S3's errors, and no bytes.
        var refused = Path.Combine(scratch, "refused.out");
        var missing = await Refused("s3api", "get-object", "--bucket", "ssec", "--key", "small.bin", refused);
        Assert.Contains("InvalidRequest", missing.Stderr);
        var wrong = await Refused("s3api", "get-object", "--bucket", "ssec", "--key", "small.bin",
            "--sse-customer-algorithm", "AES256", "--sse-customer-key", OtherKey, refused);
        Assert.Contains("AccessDenied", wrong.Stderr);
        await Refused("s3", "cp", "s3://ssec/small.bin", refused);
        Assert.False(System.IO.File.Exists(refused) && new FileInfo(refused).Length > 0, "bytes were written without the customer key");

        // Copies: the source's key opens it, the destination takes another key (small: CopyObject, big: UploadPartCopy).
        foreach (var name in new[] { "small.bin", "big.bin" })
        {
            await Ok("s3", "cp", $"s3://ssec/{name}", $"s3://ssec/copy-{name}", "--sse-c-copy-source", "AES256", "--sse-c-copy-source-key", CustomerKey,
                "--sse-c", "AES256", "--sse-c-key", OtherKey);
            var down = Path.Combine(scratch, "copy-" + name);
            await Ok("s3", "cp", $"s3://ssec/copy-{name}", down, "--sse-c", "AES256", "--sse-c-key", OtherKey);
            Assert.Equal(await System.IO.File.ReadAllBytesAsync(name == "big.bin" ? big : small), await System.IO.File.ReadAllBytesAsync(down));
            await Refused("s3", "cp", $"s3://ssec/copy-{name}", Path.Combine(scratch, "nothing"), "--sse-c", "AES256", "--sse-c-key", CustomerKey);
        }
        await Refused("s3", "cp", "s3://ssec/small.bin", "s3://ssec/no-source-key.bin");
    }
}

/// <summary>Debian's AWS CLI v2 over a local-disk gateway.</summary>
public sealed class SseAwsCliV2LocalDiskTests : SseAwsCliTests
{
    protected override string Aws => CliClients.AwsV2;
}

/// <summary>The pip AWS CLI v1 (botocore) over a local-disk gateway.</summary>
public sealed class SseAwsCliV1LocalDiskTests : SseAwsCliTests
{
    protected override string Aws => CliClients.AwsV1
        ?? throw new InvalidOperationException("The AWS CLI v1 (pip install awscli) is not first on PATH.");
}

/// <summary>AWS CLI v2 over a gateway whose ciphertext goes to moto (another S3 service).</summary>
public sealed class SseAwsCliV2MotoTests(MotoServer moto) : SseAwsCliTests, IClassFixture<MotoServer>
{
    protected override string Aws => CliClients.AwsV2;
    protected override Task<GatewayServer> StartGatewayAsync() => GatewayServer.StartAsync(s3Backend: moto);
}
