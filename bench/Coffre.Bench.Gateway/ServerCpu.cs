using System.Globalization;

namespace Coffre.Bench.Gateway;

/// <summary>
/// CPU time and peak resident memory of the server processes on a path (Coffre, nginx and its workers, s3rver, moto),
/// from /proc. A server's own CPU time is much less sensitive to other work on the machine than wall time, so it is
/// the figure to compare on a shared host.
/// </summary>
public static class ServerCpu
{
    private static readonly double TicksPerSecond = 100; // USER_HZ: 100 on every Linux this runs on

    /// <summary>utime + stime of <paramref name="rootPid"/> and every live descendant (nginx's workers).</summary>
    public static double Seconds(int rootPid) => Tree(rootPid).Sum(pid => Stat(pid) is { } f ? (f.UTime + f.STime) / TicksPerSecond : 0);

    public static double Seconds(IEnumerable<int> roots) => roots.Sum(Seconds);

    /// <summary>Resets the peak resident set (VmHWM) of the tree, so the next <see cref="PeakRssMiB"/> covers one measurement.</summary>
    public static void ResetPeak(IEnumerable<int> roots)
    {
        foreach (var pid in roots.SelectMany(Tree))
            try { File.WriteAllText($"/proc/{pid}/clear_refs", "5"); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Sum over the tree of each process's VmHWM (MiB): for Coffre, its own peak.</summary>
    public static double PeakRssMiB(IEnumerable<int> roots) => roots.SelectMany(Tree).Sum(pid => StatusKiB(pid, "VmHWM:")) / 1024.0;

    /// <summary>The 1-minute load average, recorded with every run.</summary>
    public static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    private static IEnumerable<int> Tree(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(dir), out var pid) && Stat(pid) is { } f)
                (children.TryGetValue(f.PPid, out var list) ? list : children[f.PPid] = []).Add(pid);
        var pending = new Stack<int>([root]);
        while (pending.TryPop(out var pid))
        {
            yield return pid;
            if (children.TryGetValue(pid, out var kids)) foreach (var k in kids) pending.Push(k);
        }
    }

    private static (int PPid, long UTime, long STime)? Stat(int pid)
    {
        try
        {
            // The command name (field 2) may hold spaces: the fields after it start past its closing parenthesis.
            var line = File.ReadAllText($"/proc/{pid}/stat");
            var f = line[(line.LastIndexOf(')') + 2)..].Split(' ');
            return (int.Parse(f[1], CultureInfo.InvariantCulture), long.Parse(f[11], CultureInfo.InvariantCulture),
                long.Parse(f[12], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // the process has gone
        }
    }

    private static long StatusKiB(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith(field, StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return 0;
    }
}
