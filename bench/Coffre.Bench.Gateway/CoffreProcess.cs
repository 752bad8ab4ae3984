using System.Diagnostics;
using System.Net.Sockets;

namespace Coffre.Bench.Gateway;

/// <summary>A real `coffre serve` child process on a free loopback port, with its own data directory.</summary>
public sealed class CoffreProcess : IDisposable
{
    public const string AccessKey = "AKIACOFFREBENCH00001";
    public const string SecretKey = "coffre-bench-secret-000000000000000001";
    private readonly Process _process;
    public string Endpoint { get; }
    public string DataDirectory { get; }
    public int ProcessId => _process.Id;

    /// <param name="environment">Extra settings (<c>Coffre__AccessLog</c>, GC knobs) for this process.</param>
    public CoffreProcess(string? appsettingsJson = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        DataDirectory = Directory.CreateTempSubdirectory("coffre-bench-").FullName;
        if (appsettingsJson is not null) File.WriteAllText(Path.Combine(DataDirectory, "appsettings.json"), appsettingsJson);
        var port = FreePort();
        Endpoint = $"http://127.0.0.1:{port}";
        var coffre = Path.Combine(AppContext.BaseDirectory, "coffre.dll");
        var psi = new ProcessStartInfo("dotnet", [coffre, "serve", "--data", DataDirectory, "--listen", $"127.0.0.1:{port}"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = DataDirectory,
        };
        psi.Environment["COFFRE_PASSPHRASE"] = "benchmark passphrase (not secret)";
        psi.Environment["COFFRE_ROOT_ACCESS_KEY"] = AccessKey;
        psi.Environment["COFFRE_ROOT_SECRET_KEY"] = SecretKey;
        psi.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("[coffre] " + e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        WaitUntilListening(port);
    }

    private void WaitUntilListening(int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"coffre serve exited with {_process.ExitCode}");
            try
            {
                using var c = new TcpClient();
                c.Connect("127.0.0.1", port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(200);
            }
        }
        throw new TimeoutException("coffre serve did not start listening within 60 s");
    }

    private static int FreePort()
    {
        var l = new TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// <summary>Stops the server and keeps its data directory (for commands that need it stopped, such as `coffre recover`).</summary>
    public void Stop()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        Stop();
        _process.Dispose();
        try { Directory.Delete(DataDirectory, true); } catch (IOException) { }
    }
}
