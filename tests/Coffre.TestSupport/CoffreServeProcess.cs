using System.Diagnostics;
using System.Net;
using System.Text;

namespace Coffre.TestSupport;

/// <summary>
/// A real `coffre serve` child process (the coffre.dll built next to the test assembly) on a free
/// loopback port, with fixed root credentials, for tests that run several instances or kill one.
/// </summary>
public sealed class CoffreServeProcess : IDisposable
{
    public const string AccessKey = "AKIACOFFRETESTROOT01";
    public const string SecretKey = "coffre-test-root-secret-0000000000000001";
    public const string Passphrase = "test passphrase (not secret)";

    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private CoffreServeProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Port { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>What the process wrote to stdout and stderr so far.</summary>
    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    /// <summary>Starts `coffre serve --data <paramref name="dataDirectory"/>` and waits until /healthz answers 200.</summary>
    /// <param name="environment">Extra variables (configuration as <c>Coffre__X__Y</c>); every inherited COFFRE* variable is removed first.</param>
    public static async Task<CoffreServeProcess> StartAsync(string dataDirectory, IReadOnlyDictionary<string, string>? environment = null,
        int? port = null)
    {
        var coffre = Path.Combine(AppContext.BaseDirectory, "coffre.dll");
        if (!File.Exists(coffre)) throw new InvalidOperationException($"{coffre} is missing: the test project must reference src/Coffre.Cli");
        var listenPort = port ?? LoopbackPort.Free();
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = dataDirectory,
        };
        foreach (var a in new[] { coffre, "serve", "--data", dataDirectory, "--listen", $"127.0.0.1:{listenPort}" }) psi.ArgumentList.Add(a);
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("COFFRE", StringComparison.OrdinalIgnoreCase)).ToList())
            psi.Environment.Remove(name);
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["COFFRE_PASSPHRASE"] = Passphrase;
        psi.Environment["COFFRE_ROOT_ACCESS_KEY"] = AccessKey;
        psi.Environment["COFFRE_ROOT_SECRET_KEY"] = SecretKey;
        psi.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        Directory.CreateDirectory(dataDirectory);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start coffre serve");
        process.StandardInput.Close();
        var server = new CoffreServeProcess(process, listenPort);
        await server.WaitHealthyAsync(TimeSpan.FromSeconds(90));
        return server;
    }

    private async Task WaitHealthyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"coffre serve exited with {_process.ExitCode}:\n{Log}");
            try
            {
                using var response = await http.GetAsync($"{Endpoint}/healthz");
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"coffre serve was not healthy within {timeout}:\n{Log}");
    }

    /// <summary>An S3 client of this server with the root credentials (path-style, us-east-1).</summary>
    public Amazon.S3.AmazonS3Client CreateS3Client(int maxErrorRetry = 4) => new(new Amazon.Runtime.BasicAWSCredentials(AccessKey, SecretKey),
        new Amazon.S3.AmazonS3Config { ServiceURL = Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1", MaxErrorRetry = maxErrorRetry });

    /// <summary>SIGTERM, as systemd or a container runtime stops a service: the server runs its shutdown (flushing what
    /// it queued, such as the record of copies) and exits; a server still running after <paramref name="timeout"/> fails the test.</summary>
    public async Task StopAsync(TimeSpan? timeout = null)
    {
        if (_process.HasExited) return;
        using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
            await term.WaitForExitAsync();
        using var bound = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        await _process.WaitForExitAsync(bound.Token);
    }

    /// <summary>SIGKILL: no shutdown code runs, as when a machine or a container dies.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_log) _log.AppendLine(line);
    }


    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
