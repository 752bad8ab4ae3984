using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Xunit;

namespace Coffre.TestSupport;

/// <summary>
/// A third-party server process on 127.0.0.1 and a free port, started on demand and killed (whole process tree,
/// by its process id) on dispose. Usable directly, or as an xunit class/collection fixture (IAsyncLifetime).
/// </summary>
public abstract class ExternalServer : IAsyncLifetime, IDisposable
{
    private readonly ConcurrentQueue<string> _output = new();
    private readonly SemaphoreSlim _startLock = new(1, 1);
    private Process? _process;

    public const string Host = "127.0.0.1";

    /// <summary>How long to wait for the server to answer HTTP (generous: moto takes over a minute on a host loaded by parallel suites).</summary>
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromMinutes(3);

    public int Port { get; private set; }
    public int? ProcessId => _process?.Id;

    /// <summary>http://127.0.0.1:PORT (valid after start).</summary>
    public string Endpoint => Port == 0 ? throw new InvalidOperationException("Server not started.") : $"http://{Host}:{Port}";

    public abstract string AccessKey { get; }
    public abstract string SecretKey { get; }
    public virtual string Region => "us-east-1";

    /// <summary>Where the server keeps object data on disk, or null when it keeps it in memory.</summary>
    public abstract string? DataDirectory { get; }

    /// <summary>Last lines the process printed (for diagnostics).</summary>
    public string RecentOutput => string.Join(Environment.NewLine, _output);

    protected abstract string ExecutableName { get; }
    protected abstract string InstallHint { get; }
    protected abstract IEnumerable<string> Arguments(int port);

    public void Start() => StartAsync().GetAwaiter().GetResult();

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _startLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_process is not null) return;
            var exe = Tools.RequireExecutable(ExecutableName, InstallHint);
            var port = LoopbackPort.Free();
            var process = new Process { StartInfo = Tools.StartInfo(exe, Arguments(port)), EnableRaisingEvents = true };
            process.OutputDataReceived += (_, e) => Remember(e.Data);
            process.ErrorDataReceived += (_, e) => Remember(e.Data);
            if (!process.Start()) throw new InvalidOperationException($"Could not start {exe}.");
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _process = process;
            Port = port;
            await WaitForPortAsync(process, port, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Stop();
            throw;
        }
        finally
        {
            _startLock.Release();
        }
    }

    private void Remember(string? line)
    {
        if (line is null) return;
        _output.Enqueue(line);
        while (_output.Count > 200) _output.TryDequeue(out _);
    }

    private async Task WaitForPortAsync(Process process, int port, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + StartupTimeout;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        while (true)
        {
            if (process.HasExited)
                throw new InvalidOperationException(
                    $"{ExecutableName} exited with code {process.ExitCode} before listening on port {port}:{Environment.NewLine}{RecentOutput}");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, ct).ConfigureAwait(false);
                // The port is open; make sure it answers HTTP (any status will do).
                using var response = await http.GetAsync($"http://{Host}:{port}/", ct).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is SocketException or HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"{ExecutableName} did not answer on port {port} within {StartupTimeout}:{Environment.NewLine}{RecentOutput}");
                await Task.Delay(100, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// An SDK client for this server, configured for plain bodies (no aws-chunked, no default checksums) and
    /// path-style addressing.
    /// </summary>
    public AmazonS3Client CreateClient() => new(new BasicAWSCredentials(AccessKey, SecretKey), new AmazonS3Config
    {
        ServiceURL = Endpoint,
        AuthenticationRegion = Region,
        ForcePathStyle = true,
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    });

    /// <summary>Creates a bucket (ignores "already exists").</summary>
    public async Task CreateBucketAsync(string bucket, CancellationToken cancellationToken = default)
    {
        await StartAsync(cancellationToken).ConfigureAwait(false);
        using var client = CreateClient();
        try
        {
            await client.PutBucketAsync(new PutBucketRequest { BucketName = bucket }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
        {
        }
    }

    /// <summary>Kills the process tree (by process id) and waits for it to exit.</summary>
    public void Stop()
    {
        var process = _process;
        _process = null;
        if (process is null) return;
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        finally
        {
            process.Dispose();
        }
        OnStopped();
    }

    protected virtual void OnStopped() { }

    public Task InitializeAsync() => StartAsync();

    public Task DisposeAsync()
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        Stop();
        GC.SuppressFinalize(this);
    }
}

/// <summary>moto 5.x (<c>moto_server</c>, Python): in-memory S3; accepts any credentials.</summary>
public sealed class MotoServer : ExternalServer
{
    public override string AccessKey => "testing";
    public override string SecretKey => "testing";
    public override string? DataDirectory => null;
    protected override string ExecutableName => "moto_server";
    protected override string InstallHint => "pip install 'moto[server]>=5,<6'";
    protected override IEnumerable<string> Arguments(int port) => ["-H", Host, "-p", port.ToString()];
}

/// <summary>
/// s3rver 3.x (npm): S3 on the file system. Objects are stored as
/// <c>DataDirectory/&lt;bucket&gt;/&lt;key&gt;._S3rver_object</c> (plus ._S3rver_metadata.json). Credentials S3RVER/S3RVER.
/// </summary>
public sealed class S3rverServer : ExternalServer
{
    private readonly string[] _buckets;
    private readonly bool _keepData;

    public S3rverServer() : this([]) { }

    /// <param name="buckets">Buckets created at startup (<c>--configure-bucket</c>).</param>
    /// <param name="keepData">Keep the data directory after stop (default: delete it).</param>
    public S3rverServer(string[] buckets, bool keepData = false)
    {
        _buckets = buckets;
        _keepData = keepData;
        DataDirectory = Path.Combine(Path.GetTempPath(), "coffre-s3rver-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(DataDirectory);
    }

    public override string AccessKey => "S3RVER";
    public override string SecretKey => "S3RVER";
    public override string DataDirectory { get; }
    protected override string ExecutableName => "s3rver";
    protected override string InstallHint => "npm install -g s3rver";

    protected override IEnumerable<string> Arguments(int port)
    {
        var args = new List<string> { "--directory", DataDirectory, "--address", Host, "--port", port.ToString(), "--silent" };
        foreach (var b in _buckets) args.AddRange(["--configure-bucket", b]);
        return args;
    }

    /// <summary>The file s3rver keeps the body of <paramref name="objectKey"/> in (POSIX layout).</summary>
    public string ObjectFilePath(string bucket, string objectKey)
    {
        var parts = objectKey.Split('/');
        return Path.Combine([DataDirectory, bucket, .. parts[..^1], parts[^1] + "._S3rver_object"]);
    }

    protected override void OnStopped()
    {
        if (_keepData) return;
        try { Directory.Delete(DataDirectory, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
