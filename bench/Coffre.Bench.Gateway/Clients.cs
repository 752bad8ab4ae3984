using System.Diagnostics;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Transfer;
using Coffre.TestSupport;

namespace Coffre.Bench.Gateway;

/// <summary>An S3 endpoint a client talks to: the backend itself, nginx in front of it, or Coffre.</summary>
public sealed record S3Endpoint(string Url, string AccessKey, string SecretKey);

/// <summary>
/// A real S3 client moving one file up and back down: 16 MiB parts, 4 in flight, as the measurements did.
/// GETs go to a sink (no local disk write), one stream.
/// </summary>
public abstract class BenchClient
{
    public abstract string Name { get; }
    public abstract Task PutAsync(S3Endpoint at, string bucket, string key, string file);
    public abstract Task GetAsync(S3Endpoint at, string bucket, string key);

    public static BenchClient Create(string name, string work) => name switch
    {
        "rclone" => new RcloneClient(),
        "aws" => new AwsCliClient(work),
        "sdk" => new SdkClient(),
        _ => throw new ArgumentException($"Unknown client '{name}': use rclone, aws or sdk."),
    };

    /// <summary>Runs a client to completion, its output discarded; a failure names the command and its error output.</summary>
    internal static async Task RunAsync(string exe, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?> env)
    {
        var psi = new ProcessStartInfo(exe, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        // The environment's CA bundle breaks rclone's plain-HTTP requests; nothing here uses TLS.
        psi.Environment.Remove("AWS_CA_BUNDLE");
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var drain = p.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        await drain;
        if (p.ExitCode != 0) throw new InvalidOperationException($"{exe} {string.Join(' ', psi.ArgumentList)} failed ({p.ExitCode}): {await stderr}");
    }
}

/// <summary>rclone 1.60: <c>copyto</c> up with 16 MiB chunks and 4 concurrent parts, <c>cat</c> down.</summary>
public sealed class RcloneClient : BenchClient
{
    private static readonly string[] Upload = ["--s3-chunk-size", "16M", "--s3-upload-concurrency", "4", "--s3-upload-cutoff", "16M", "-q"];
    private readonly string _rclone = Tools.RequireExecutable("rclone", "apt-get install rclone");

    public override string Name => "rclone";

    public override Task PutAsync(S3Endpoint at, string bucket, string key, string file) =>
        RunAsync(_rclone, ["copyto", file, $"r:{bucket}/{key}", .. Upload], Env(at));

    public override Task GetAsync(S3Endpoint at, string bucket, string key) =>
        RunAsync(_rclone, ["cat", $"r:{bucket}/{key}", "-q"], Env(at));

    /// <summary>rclone crypt over the backend (client-side encryption, no hop): the comparison Coffre must match.</summary>
    public async Task CryptPutAsync(S3Endpoint backend, string bucket, string key, string file) =>
        await RunAsync(_rclone, ["copyto", file, $"c:{key}", .. Upload], await CryptEnvAsync(backend, bucket));

    public async Task CryptGetAsync(S3Endpoint backend, string bucket, string key) =>
        await RunAsync(_rclone, ["cat", $"c:{key}", "-q"], await CryptEnvAsync(backend, bucket));

    private static Dictionary<string, string?> Env(S3Endpoint at) => new()
    {
        ["RCLONE_CONFIG_R_TYPE"] = "s3", ["RCLONE_CONFIG_R_PROVIDER"] = "Other", ["RCLONE_CONFIG_R_ENDPOINT"] = at.Url,
        ["RCLONE_CONFIG_R_ACCESS_KEY_ID"] = at.AccessKey, ["RCLONE_CONFIG_R_SECRET_ACCESS_KEY"] = at.SecretKey,
        ["RCLONE_CONFIG_R_FORCE_PATH_STYLE"] = "true", ["RCLONE_CONFIG_R_REGION"] = "us-east-1",
    };

    private string? _obscured;

    private async Task<Dictionary<string, string?>> CryptEnvAsync(S3Endpoint backend, string bucket)
    {
        _obscured ??= await ObscureAsync();
        var env = Env(backend);
        env["RCLONE_CONFIG_C_TYPE"] = "crypt";
        env["RCLONE_CONFIG_C_REMOTE"] = $"r:{bucket}/crypt";
        env["RCLONE_CONFIG_C_PASSWORD"] = _obscured;
        return env;
    }

    private async Task<string> ObscureAsync()
    {
        var psi = new ProcessStartInfo(_rclone, ["obscure", "bench-password"]) { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return output.Trim();
    }
}

/// <summary>Debian's AWS CLI v2 (<c>/usr/bin/aws</c>; else the one on PATH): <c>s3 cp</c> with 16 MiB parts, 4 at once.</summary>
public sealed class AwsCliClient : BenchClient
{
    private readonly string _aws = File.Exists("/usr/bin/aws") ? "/usr/bin/aws" : Tools.RequireExecutable("aws", "apt-get install awscli");
    private readonly string _config;

    public AwsCliClient(string work)
    {
        _config = Path.Combine(work, "aws-config");
        File.WriteAllText(_config, """
            [default]
            region = us-east-1
            s3 =
              multipart_threshold = 16MB
              multipart_chunksize = 16MB
              max_concurrent_requests = 4
              addressing_style = path
            """);
    }

    public override string Name => "aws";

    public override Task PutAsync(S3Endpoint at, string bucket, string key, string file) =>
        RunAsync(_aws, ["s3", "cp", file, $"s3://{bucket}/{key}", "--endpoint-url", at.Url, "--only-show-errors"], Env(at));

    public override Task GetAsync(S3Endpoint at, string bucket, string key) =>
        RunAsync(_aws, ["s3", "cp", $"s3://{bucket}/{key}", "-", "--endpoint-url", at.Url, "--only-show-errors"], Env(at));

    private Dictionary<string, string?> Env(S3Endpoint at) => new()
    {
        ["AWS_CONFIG_FILE"] = _config, ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null",
        ["AWS_ACCESS_KEY_ID"] = at.AccessKey, ["AWS_SECRET_ACCESS_KEY"] = at.SecretKey, ["AWS_PROFILE"] = null,
    };
}

/// <summary>AWSSDK.S3 in this process: TransferUtility with 16 MiB parts, 4 in parallel; one GetObject stream.</summary>
public sealed class SdkClient : BenchClient
{
    public override string Name => "sdk";

    public override async Task PutAsync(S3Endpoint at, string bucket, string key, string file)
    {
        using var s3 = Connect(at);
        await new TransferUtility(s3, new TransferUtilityConfig { ConcurrentServiceRequests = 4 })
            .UploadAsync(new TransferUtilityUploadRequest { BucketName = bucket, Key = key, FilePath = file, PartSize = 16 << 20 });
    }

    public override async Task GetAsync(S3Endpoint at, string bucket, string key)
    {
        using var s3 = Connect(at);
        using var get = await s3.GetObjectAsync(bucket, key);
        await get.ResponseStream.CopyToAsync(Stream.Null);
    }

    public static AmazonS3Client Connect(S3Endpoint at) =>
        new(new BasicAWSCredentials(at.AccessKey, at.SecretKey), new AmazonS3Config
        {
            ServiceURL = at.Url, ForcePathStyle = true, AuthenticationRegion = "us-east-1", UseHttp = true,
            Timeout = TimeSpan.FromMinutes(10), MaxErrorRetry = 0,
        });
}
