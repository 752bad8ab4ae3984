using System.Globalization;

namespace Coffre.Bench.Gateway;

/// <summary>One timed transfer: its bytes (or requests), wall time, server CPU and peak RSS of the path's servers.</summary>
public sealed record Sample(double Amount, TimeSpan Wall, double ServerCpuSeconds, double MachineCpuSeconds, double PeakRssMiB);

/// <summary>The rounds of one measurement (path × operation), reported as median and min–max.</summary>
public sealed class Samples
{
    private readonly List<Sample> _rounds = [];

    public void Add(Sample s) => _rounds.Add(s);

    public int Count => _rounds.Count;

    public double MedianRate => Median(_rounds.Select(s => s.Amount / s.Wall.TotalSeconds));

    /// <summary>Server CPU per unit (per GiB when the amount is GiB, per request when it counts requests).</summary>
    public double MedianCpuPerUnit => Median(_rounds.Select(s => s.ServerCpuSeconds / s.Amount));

    /// <summary>Amount per second, times <paramref name="scale"/> (1024: GiB counted, MiB/s shown).</summary>
    public string Rate(double scale = 1, string format = "F0") => Spread(_rounds.Select(s => s.Amount / s.Wall.TotalSeconds * scale), format);
    public string CpuPerUnit(double scale = 1, string format = "F2") => Spread(_rounds.Select(s => s.ServerCpuSeconds / s.Amount * scale), format);
    public string MachineCpuPerUnit(double scale = 1, string format = "F2") => Spread(_rounds.Select(s => s.MachineCpuSeconds / s.Amount * scale), format);
    public string PeakRss() => Spread(_rounds.Select(s => s.PeakRssMiB), "F0");

    /// <summary>"median (min–max)", or the one value.</summary>
    private static string Spread(IEnumerable<double> values, string format)
    {
        var v = values.Order().ToList();
        if (v.Count == 0) return "—";
        string F(double x) => x.ToString(format, CultureInfo.InvariantCulture);
        return v.Count == 1 ? F(v[0]) : $"{F(Median(v))} ({F(v[0])}–{F(v[^1])})";
    }

    public static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToList();
        if (v.Count == 0) return double.NaN;
        return v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2;
    }
}

/// <summary>Times an action and reads the CPU the given server processes spent on it, and the machine's.</summary>
public static class Meter
{
    /// <param name="serverPids">Every server process on the path (their CPU is summed).</param>
    /// <param name="hopPids">The hop whose peak RSS is reported (Coffre, or nginx); the backend's own memory is not.</param>
    public static async Task<Sample> MeasureAsync(IReadOnlyList<int> serverPids, IReadOnlyList<int> hopPids, double amount, Func<Task> action)
    {
        ServerCpu.ResetPeak(hopPids);
        var cpu = ServerCpu.Seconds(serverPids);
        var machine = MachineBusySeconds();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await action();
        var wall = sw.Elapsed;
        return new Sample(amount, wall, ServerCpu.Seconds(serverPids) - cpu, MachineBusySeconds() - machine, ServerCpu.PeakRssMiB(hopPids));
    }

    /// <summary>CPU the whole machine spent busy (all processes, the client included), from /proc/stat.</summary>
    private static double MachineBusySeconds()
    {
        var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long F(int i) => long.Parse(f[i], CultureInfo.InvariantCulture);
        return (F(1) + F(2) + F(3) + F(6) + F(7)) / 100.0;
    }
}
