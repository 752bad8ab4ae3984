using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Npgsql;

namespace Coffre.TestSupport;

/// <summary>
/// A real PostgreSQL server (Debian's postgresql package) for tests: initdb in a temporary directory,
/// started with pg_ctl on 127.0.0.1 and a free port, password authentication, stopped and deleted when
/// the process exits. When the tests run as root, PostgreSQL's tools run as the <c>postgres</c> user
/// (they refuse root), so the directory is handed to that user.
/// </summary>
/// <remarks>
/// fsync is off: tests kill and restart the server process, never the machine, and a process crash
/// loses nothing that was committed (synchronous_commit stays on). Benchmarks start their own server
/// with fsync on.
/// </remarks>
public sealed class PostgresServer : IAsyncDisposable
{
    private const string DirectoryPrefix = "coffre-pg-";
    private const string OwnerFile = "owner.pid";
    private static readonly Lazy<Task<PostgresServer>> SharedServer = new(() => StartAsync());
    private static int _databases;

    private readonly string _bin;
    private readonly string _dir;
    private readonly bool _asPostgres;
    private readonly string _password;
    private bool _disposed;

    private PostgresServer(string bin, string dir, int port, string password, bool asPostgres)
    {
        _bin = bin;
        _dir = dir;
        Port = port;
        _password = password;
        _asPostgres = asPostgres;
    }

    /// <summary>One server for the whole test process, started on first use.</summary>
    public static Task<PostgresServer> Shared => SharedServer.Value;

    public int Port { get; }

    public string DataDirectory => Path.Combine(_dir, "data");

    /// <summary>Connection string for database <paramref name="database"/> as the superuser.</summary>
    public string ConnectionString(string database = "postgres") => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = "coffre",
        Password = _password,
        Database = database,
    }.ConnectionString;

    /// <summary>Creates a fresh empty database on the shared server and returns its connection string.</summary>
    public static async Task<string> CreateSharedDatabaseAsync() => await (await Shared).CreateDatabaseAsync();

    /// <summary>Creates a fresh empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"coffre_test_{Environment.ProcessId}_{Interlocked.Increment(ref _databases)}";
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    /// <summary>Starts a new server of its own (for tests that stop and restart it; most tests use <see cref="Shared"/>).</summary>
    public static async Task<PostgresServer> StartAsync(bool fsync = false)
    {
        var bin = FindBin();
        var asPostgres = Environment.UserName == "root";
        SweepAbandoned(bin, asPostgres);
        var dir = Path.Combine(Path.GetTempPath(), DirectoryPrefix + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, OwnerFile), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var passwordFile = Path.Combine(dir, "pw");
        await File.WriteAllTextAsync(passwordFile, password);
        if (asPostgres && !OperatingSystem.IsWindows())
        {
            // The postgres user must traverse the temporary directory and own what it writes there.
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
            await RunAsync("chown", ["-R", "postgres:postgres", dir], asPostgres: false);
        }
        var server = new PostgresServer(bin, dir, LoopbackPort.Free(), password, asPostgres);
        await server.RunToolAsync("initdb", ["-D", server.DataDirectory, "-U", "coffre", "--pwfile", passwordFile,
            "--auth", "scram-sha-256", "-E", "UTF8", "--locale", "C", "--no-sync"]);
        File.Delete(passwordFile);
        var settings = $"listen_addresses = '127.0.0.1'\nport = {server.Port}\nunix_socket_directories = '{dir}'\n" +
                       $"max_connections = 300\nshared_buffers = 32MB\nfsync = {(fsync ? "on" : "off")}\n" +
                       "full_page_writes = off\nlog_min_messages = warning\n";
        await File.AppendAllTextAsync(Path.Combine(server.DataDirectory, "postgresql.conf"), settings);
        await server.StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.StopAndDelete();
        return server;
    }

    /// <summary>Starts the server (again, after <see cref="StopAsync"/>) and waits until it accepts connections.</summary>
    public Task StartAsync() =>
        RunToolAsync("pg_ctl", ["-D", DataDirectory, "-l", Path.Combine(_dir, "server.log"), "-w", "-t", "60", "start"]);

    /// <summary>Stops the server: <c>immediate</c> is like a crash (no shutdown checkpoint), otherwise a fast clean stop.</summary>
    public Task StopAsync(bool immediate = false) =>
        RunToolAsync("pg_ctl", ["-D", DataDirectory, "-w", "-t", "60", "-m", immediate ? "immediate" : "fast", "stop"]);

    public async ValueTask DisposeAsync()
    {
        await Task.Run(StopAndDelete);
    }

    private void StopAndDelete()
    {
        lock (this)
        {
            if (_disposed) return;
            _disposed = true;
        }
        try
        {
            Run(Path.Combine(_bin, "pg_ctl"), ["-D", DataDirectory, "-w", "-t", "30", "-m", "immediate", "stop"], _asPostgres);
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Stops and deletes servers left by test processes that no longer exist: the test host can be
    /// killed before its exit handler has stopped its server.
    /// </summary>
    private static void SweepAbandoned(string bin, bool asPostgres)
    {
        foreach (var dir in Directory.GetDirectories(Path.GetTempPath(), DirectoryPrefix + "*"))
        {
            try
            {
                var ownerFile = Path.Combine(dir, OwnerFile);
                if (!File.Exists(ownerFile) || !int.TryParse(File.ReadAllText(ownerFile), out var owner)) continue;
                if (IsRunning(owner)) continue;
                if (File.Exists(Path.Combine(dir, "data", "postmaster.pid")))
                    Run(Path.Combine(bin, "pg_ctl"), ["-D", Path.Combine(dir, "data"), "-w", "-t", "30", "-m", "immediate", "stop"], asPostgres);
                Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                // Someone else's or half-deleted: leave it.
            }
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private Task RunToolAsync(string tool, IReadOnlyList<string> args) => RunAsync(Path.Combine(_bin, tool), args, _asPostgres);

    private static Task RunAsync(string program, IReadOnlyList<string> args, bool asPostgres) =>
        Task.Run(() => Run(program, args, asPostgres));

    private static void Run(string program, IReadOnlyList<string> args, bool asPostgres)
    {
        var psi = new ProcessStartInfo(asPostgres ? "/usr/sbin/runuser" : program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asPostgres)
        {
            foreach (var a in new[] { "-u", "postgres", "--", program }) psi.ArgumentList.Add(a);
        }
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException(
                $"{Path.GetFileName(program)} {string.Join(' ', args)} failed with exit code {process.ExitCode}: {stderr}{stdout.Result}");
    }

    private static string FindBin()
    {
        const string root = "/usr/lib/postgresql";
        var bin = Directory.Exists(root)
            ? Directory.GetDirectories(root).Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "initdb")))
                .OrderByDescending(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;
        return bin ?? throw new InvalidOperationException(
            "PostgreSQL's initdb was not found under /usr/lib/postgresql/*/bin. Install it with: apt-get install postgresql — or run .ci/install-test-deps.sh as root.");
    }

}
