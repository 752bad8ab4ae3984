using System.Diagnostics;

namespace Coffre.TestSupport;

/// <summary>Locates the external programs the tests drive.</summary>
public static class Tools
{
    /// <summary>The full path of <paramref name="name"/> found on PATH or in the usual tool folders, or null.</summary>
    public static string? FindExecutable(string name)
    {
        var dirs = new List<string>();
        dirs.AddRange((Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (!string.IsNullOrEmpty(home))
        {
            dirs.Add(Path.Combine(home, ".local", "bin"));
            dirs.Add(Path.Combine(home, ".pyenv", "shims"));
            dirs.Add(Path.Combine(home, ".npm-global", "bin"));
        }
        dirs.Add("/usr/local/bin");
        dirs.Add("/usr/bin");
        var repo = FindRepositoryRoot();
        if (repo is not null) dirs.Add(Path.Combine(repo, ".tools", "node_modules", ".bin"));

        var candidates = OperatingSystem.IsWindows() ? new[] { name + ".exe", name + ".cmd", name } : [name];
        foreach (var dir in dirs)
        foreach (var candidate in candidates)
        {
            var path = Path.Combine(dir, candidate);
            if (File.Exists(path) && (OperatingSystem.IsWindows() || IsExecutable(path))) return path;
        }
        return null;
    }

    /// <summary>Like <see cref="FindExecutable"/> but throws a message that says how to install the tool.</summary>
    public static string RequireExecutable(string name, string installHint)
    {
        return FindExecutable(name) ?? throw new InvalidOperationException(
            $"'{name}' was not found on PATH (PATH={Environment.GetEnvironmentVariable("PATH")}). " +
            $"Install it with: {installHint} — or run .ci/install-test-deps.sh as root.");
    }

    /// <summary>The folder holding Coffre.sln above the test assembly, if any.</summary>
    public static string? FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Coffre.sln"))) return dir.FullName;
        return null;
    }

    private static bool IsExecutable(string path)
    {
        if (OperatingSystem.IsWindows()) return true;
        try
        {
            var mode = File.GetUnixFileMode(path);
            return (mode & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
        }
        catch (IOException)
        {
            return false;
        }
    }

    internal static ProcessStartInfo StartInfo(string executable, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }
}
