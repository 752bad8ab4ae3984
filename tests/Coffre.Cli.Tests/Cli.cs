using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Coffre.Cli.Tests;

/// <summary>What one run of the real `coffre` process did.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr, string[] Args)
{
    public string All => Stdout + Stderr;

    /// <summary>Stdout must be one JSON document and nothing else.</summary>
    public JsonElement Json()
    {
        Assert.True(ExitCode == 0, $"coffre {string.Join(' ', Args)} exited {ExitCode}: {Stderr}");
        try
        {
            using var doc = JsonDocument.Parse(Stdout);
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new Xunit.Sdk.XunitException($"stdout of coffre {string.Join(' ', Args)} is not pure JSON ({e.Message}):\n{Stdout}");
        }
    }

    public CliResult Ok()
    {
        Assert.True(ExitCode == 0, $"coffre {string.Join(' ', Args)} exited {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}");
        return this;
    }

    /// <summary>A failure: the expected exit code, a message on stderr, nothing on stdout.</summary>
    public CliResult Fails(int exitCode)
    {
        Assert.True(ExitCode == exitCode, $"coffre {string.Join(' ', Args)}: expected exit {exitCode}, got {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}");
        Assert.False(string.IsNullOrWhiteSpace(Stderr), $"coffre {string.Join(' ', Args)} failed without a message on stderr");
        Assert.True(Stdout.Length == 0, $"coffre {string.Join(' ', Args)} failed but wrote to stdout: {Stdout}");
        return this;
    }
}

/// <summary>Runs the real CLI (`dotnet coffre.dll`, built next to the tests) with an explicit environment.</summary>
public static class Cli
{
    public const string Passphrase = "correct horse battery staple";

    public static string CoffreDll { get; } = Path.Combine(AppContext.BaseDirectory, "coffre.dll");

    /// <summary>Runs coffre. <paramref name="passphrase"/> becomes COFFRE_PASSPHRASE (null: unset);
    /// COFFRE_DATA is unset unless given; stdin is empty (closed) unless <paramref name="stdin"/> is given.</summary>
    public static CliResult Run(string[] args, string? passphrase = Passphrase, string? workingDirectory = null,
        string? dataEnv = null, string? stdin = null, TimeSpan? timeout = null)
    {
        Assert.True(File.Exists(CoffreDll), $"{CoffreDll} is missing: the test project must reference src/Coffre.Cli");
        var environment = new Dictionary<string, string?>
        {
            ["DOTNET_NOLOGO"] = "1",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        };
        if (passphrase is not null) environment["COFFRE_PASSPHRASE"] = passphrase;
        if (dataEnv is not null) environment["COFFRE_DATA"] = dataEnv;
        return Exec("dotnet", [CoffreDll, .. args], environment, workingDirectory, stdin, timeout, args);
    }

    /// <summary>Runs a program with the current environment minus every COFFRE* variable, plus <paramref name="environment"/>.</summary>
    public static CliResult Exec(string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null,
        string? workingDirectory = null, string? stdin = null, TimeSpan? timeout = null, string[]? label = null)
    {
        var args = arguments.ToArray();
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("COFFRE", StringComparison.OrdinalIgnoreCase)).ToList())
            psi.Environment.Remove(name);
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>()) psi.Environment[name] = value;

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null) process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish");
        }
        process.WaitForExit();
        return new CliResult(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult(), label ?? args);
    }

    public static CliResult Run(params string[] args) => Run(args, Passphrase);

    /// <summary>The repository root (holds Coffre.sln), for tools/.</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Coffre.sln"))) return dir.FullName;
            throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
        }
    }
}

/// <summary>A temporary directory, deleted at dispose.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("coffre-cli-tests-").FullName;

    public string this[string name] => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>An initialised data directory shared by the tests of one class (each class has its own).</summary>
public sealed class DataDirFixture : IDisposable
{
    private readonly TempDir _dir = new();
    private int _counter;

    private readonly Lazy<string> _sharedKey;

    public DataDirFixture()
    {
        Data = _dir["data"];
        Cli.Run("init", "--data", Data).Ok();
        _sharedKey = new Lazy<string>(() => NewKey("shared"), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>One key created on first use, for tests that only need some key.</summary>
    public string SharedKey => _sharedKey.Value;

    public string Data { get; }

    public string Root => _dir.Path;

    /// <summary>Runs coffre against this data directory.</summary>
    public CliResult Run(params string[] args) => Cli.Run([.. args, "--data", Data]);

    /// <summary>A fresh key name, so tests sharing the directory do not interfere.</summary>
    public string NewKey(string prefix = "k")
    {
        var name = $"{prefix}-{Interlocked.Increment(ref _counter)}";
        Run("key", "create", name).Ok();
        return name;
    }

    /// <summary>A fresh empty working directory inside the fixture.</summary>
    public string NewDir()
    {
        var path = System.IO.Path.Combine(_dir.Path, "w" + Interlocked.Increment(ref _counter));
        Directory.CreateDirectory(path);
        return path;
    }

    public void Dispose() => _dir.Dispose();
}
