using System.Globalization;

namespace Coffre.Bench.Gateway;

/// <summary>Command-line options; every part can be run alone (<c>--only</c>, <c>--clients</c>).</summary>
public sealed record Options(int SizeMiB, int Rounds, int WarmupSeconds, int SmallSeconds, int Concurrency,
    IReadOnlyList<string> Only, IReadOnlyList<string> Clients)
{
    public const string Usage = """
        dotnet run -c Release --project bench/Coffre.Bench.Gateway -- [--size-mib 1024] [--rounds 3] [--warmup-seconds 10]
            [--only local,s3rver,moto,small] [--clients rclone,aws,sdk] [--small-seconds 10] [--concurrency 32]
        """;

    public bool Runs(string part) => Only.Contains(part);

    public static Options Parse(string[] args)
    {
        if (args.Contains("--help")) { Console.WriteLine(Usage); Environment.Exit(0); }
        string? Value(string name)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }
        int Int(string name, int fallback) => Value(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        IReadOnlyList<string> List(string name, string fallback) => (Value(name) ?? fallback).Split(',', StringSplitOptions.RemoveEmptyEntries);
        return new Options(Int("--size-mib", 1024), Int("--rounds", 3), Int("--warmup-seconds", 10), Int("--small-seconds", 10),
            Int("--concurrency", 32), List("--only", "local,s3rver,moto,small"), List("--clients", "rclone,aws,sdk"));
    }
}
