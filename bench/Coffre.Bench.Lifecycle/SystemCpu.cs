namespace Coffre.Bench.Lifecycle;

/// <summary>CPU time the whole machine spent busy (all processes and kernel threads), from /proc/stat:
/// the audit's cost includes work the kernel does for its fsyncs outside this process.</summary>
public static class SystemCpu
{
    public static TimeSpan BusyTime()
    {
        // cpu  user nice system idle iowait irq softirq steal ...  in USER_HZ ticks (100 per second on Linux).
        // Steal is left out: it is time the hypervisor gave to other machines.
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long Field(int i) => i < fields.Length ? long.Parse(fields[i], System.Globalization.CultureInfo.InvariantCulture) : 0;
        var busy = Field(1) + Field(2) + Field(3) + Field(6) + Field(7);
        return TimeSpan.FromSeconds(busy / 100.0);
    }
}
