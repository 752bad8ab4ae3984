using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Coffre.TestSupport;

namespace Coffre.Server.Tests.Gateway.Clients;

/// <summary>What a command-line client did: exit code and both output streams.</summary>
public sealed record CliResult(string Command, int ExitCode, string Stdout, string Stderr)
{
    public CliResult EnsureSuccess()
    {
        if (ExitCode != 0)
            throw new Xunit.Sdk.XunitException($"`{Command}` exited with {ExitCode}.{Environment.NewLine}stdout: {Stdout}{Environment.NewLine}stderr: {Stderr}");
        return this;
    }

    public JsonElement Json() => JsonDocument.Parse(Stdout).RootElement;
}

/// <summary>
/// Runs the real S3 command-line clients (AWS CLI v2 and v1, rclone, s3cmd, curl) as child processes against a
/// gateway, with an explicit environment: no inherited AWS_* / RCLONE_* / proxy settings, credentials of the test
/// gateway, path-style addressing.
/// </summary>
public sealed class CliClients : IDisposable
{
    public const string AwsV2Path = "/usr/bin/aws";
    private const string InstallHint = "sudo .ci/install-test-deps.sh (or: apt-get install -y awscli rclone s3cmd curl)";
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    private readonly string _configDirectory;
    private readonly string _awsConfigFile;

    public GatewayServer Gateway { get; }
    public string Endpoint => Gateway.Endpoint;
    public string HostPort => new Uri(Gateway.Endpoint).Authority;

    public CliClients(GatewayServer gateway)
    {
        Gateway = gateway;
        _configDirectory = Directory.CreateTempSubdirectory("coffre-cli-").FullName;
        _awsConfigFile = Path.Combine(_configDirectory, "aws-config");
        // Path-style addressing (no bucket.127.0.0.1 host names) and SigV4 presigning: the AWS CLI v1 presigns
        // with SigV2 unless told otherwise (SigV2ClientTests covers that default).
        File.WriteAllText(_awsConfigFile, "[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n    signature_version = s3v4\n");
    }

    /// <summary>Debian's AWS CLI v2 (/usr/bin/aws); a test that needs it fails when it is missing.</summary>
    public static string AwsV2 => File.Exists(AwsV2Path)
        ? AwsV2Path
        : throw new InvalidOperationException($"AWS CLI v2 ({AwsV2Path}) is not installed. Install it with: {InstallHint}");

    private static readonly Lazy<string?> AwsV1Lazy = new(() =>
    {
        var aws = Tools.FindExecutable("aws");
        if (aws is null || aws == AwsV2Path) return null;
        var psi = new ProcessStartInfo(aws, "--version") { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var text = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return text.StartsWith("aws-cli/1.", StringComparison.Ordinal) ? aws : null;
    });

    /// <summary>A pip-installed AWS CLI v1 (botocore) first on PATH, or null: it is optional, tested when present.</summary>
    public static string? AwsV1 => AwsV1Lazy.Value;

    public static string Rclone => Tools.RequireExecutable("rclone", InstallHint);
    public static string S3cmd => Tools.RequireExecutable("s3cmd", InstallHint);
    public static string Curl => Tools.RequireExecutable("curl", InstallHint);

    /// <summary>Runs an AWS CLI (v1 or v2) against the gateway: `aws --endpoint-url EP args...`.</summary>
    public Task<CliResult> AwsAsync(string aws, params string[] args) =>
        RunAsync(aws, ["--endpoint-url", Endpoint, .. args]);

    /// <summary>Like <see cref="AwsAsync(string, string[])"/> with extra lines in the [default] profile's s3 section and extra environment.</summary>
    public Task<CliResult> AwsAsync(string aws, string s3Settings, IDictionary<string, string?> environment, params string[] args)
    {
        var config = Path.Combine(_configDirectory, $"aws-config-{Guid.NewGuid():N}");
        File.WriteAllText(config, File.ReadAllText(_awsConfigFile) + string.Concat(s3Settings.Split('\n').Select(l => "    " + l.Trim() + "\n")));
        return RunAsync(aws, ["--endpoint-url", Endpoint, .. args], new Dictionary<string, string?>(environment) { ["AWS_CONFIG_FILE"] = config });
    }

    /// <summary>Runs rclone with an on-the-fly remote named "gw" pointing at the gateway.</summary>
    public Task<CliResult> RcloneAsync(params string[] args) =>
        RunAsync(Rclone, [.. args], new Dictionary<string, string?>
        {
            ["RCLONE_CONFIG"] = Path.Combine(_configDirectory, "rclone.conf"),
            ["RCLONE_CONFIG_GW_TYPE"] = "s3",
            ["RCLONE_CONFIG_GW_PROVIDER"] = "Other",
            ["RCLONE_CONFIG_GW_ENDPOINT"] = Endpoint,
            ["RCLONE_CONFIG_GW_ACCESS_KEY_ID"] = GatewayServer.AccessKey,
            ["RCLONE_CONFIG_GW_SECRET_ACCESS_KEY"] = GatewayServer.SecretKey,
            ["RCLONE_CONFIG_GW_REGION"] = "us-east-1",
            ["RCLONE_CONFIG_GW_FORCE_PATH_STYLE"] = "true",
        });

    /// <summary>Runs s3cmd without any config file, every setting on the command line.</summary>
    public Task<CliResult> S3cmdAsync(params string[] args) =>
        RunAsync(S3cmd, ["-c", "/dev/null", "--access_key=" + GatewayServer.AccessKey, "--secret_key=" + GatewayServer.SecretKey,
            "--host=" + HostPort, "--host-bucket=" + HostPort, "--no-ssl", "--region=us-east-1", "--no-progress", .. args]);

    /// <summary>curl of a URL: returns the status code on stdout, the body in <paramref name="outputFile"/>.</summary>
    public Task<CliResult> CurlAsync(string url, string outputFile) =>
        RunAsync(Curl, ["-sS", "-o", outputFile, "-w", "%{http_code}", url]);

    public async Task<CliResult> RunAsync(string executable, string[] args, IDictionary<string, string?>? extraEnvironment = null, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = _configDirectory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var env = psi.Environment;
        foreach (var name in env.Keys.ToList())
            if (name.StartsWith("AWS_", StringComparison.OrdinalIgnoreCase) || name.StartsWith("RCLONE_", StringComparison.OrdinalIgnoreCase)
                || name.EndsWith("_proxy", StringComparison.OrdinalIgnoreCase))
                env.Remove(name);
        foreach (var (k, v) in Gateway.ClientEnvironment())
            if (v is null) env.Remove(k); else env[k] = v;
        env["AWS_CONFIG_FILE"] = _awsConfigFile;
        env["AWS_PAGER"] = "";
        env["NO_PROXY"] = "127.0.0.1,localhost";
        if (extraEnvironment is not null)
            foreach (var (k, v) in extraEnvironment)
                if (v is null) env.Remove(k); else env[k] = v;

        var command = Path.GetFileName(executable) + " " + string.Join(' ', args.Select(a => a.Contains(' ') ? $"'{a}'" : a));
        using var process = new Process { StartInfo = psi };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw new TimeoutException($"`{command}` did not finish within {timeout ?? DefaultTimeout}. stderr so far: {stderr}");
        }
        process.WaitForExit(); // drains the output events
        return new CliResult(command, process.ExitCode, stdout.ToString(), stderr.ToString());
    }

    public void Dispose()
    {
        try { Directory.Delete(_configDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
