namespace Coffre.Bench.Gateway;

/// <summary>The markdown report: printed as it is produced, so a long run shows its progress.</summary>
public static class Report
{
    public static void Say(string line = "") => Console.WriteLine(line);

    /// <summary>Progress on stderr, apart from the report.</summary>
    public static void Progress(string line) => Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss} load {ServerCpu.LoadAverage()}] {line}");
}
