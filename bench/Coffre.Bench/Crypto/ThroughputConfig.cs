using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Coffre.Bench.Crypto;

/// <summary>
/// Two invocations of a long operation per iteration, 40 iterations, median and minimum shown: the
/// minimum is the least disturbed iteration, robust enough
/// on a machine shared with other work, and quick (each operation processes 64 MiB).
/// </summary>
public sealed class ThroughputConfig : ManualConfig
{
    public ThroughputConfig()
    {
        AddJob(Job.Default
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(40)
            .WithInvocationCount(2)
            .WithUnrollFactor(1)
            .WithId("Throughput"));
        AddColumn(StatisticColumn.Median, StatisticColumn.Min,
            new MegabytesPerSecondColumn(64 * 1024 * 1024, useMin: false),
            new MegabytesPerSecondColumn(64 * 1024 * 1024, useMin: true));
    }
}

/// <summary>
/// MB/s (10^6 bytes per second) of a fixed-size operation, from the mean time or from the minimum
/// (the least disturbed iteration on a shared machine).
/// </summary>
public sealed class MegabytesPerSecondColumn(long bytesPerOperation, bool useMin) : IColumn
{
    public string Id => nameof(MegabytesPerSecondColumn) + (useMin ? "Min" : "Mean");
    public string ColumnName => useMin ? "MB/s (min)" : "MB/s (mean)";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => useMin ? 1 : 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => $"Megabytes (10^6 B) of the 64 MiB buffer per second: 64 MiB / {(useMin ? "minimum" : "mean")} time";
    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        if (stats is null) return "NA";
        double seconds = (useMin ? stats.Min : stats.Mean) / 1e9;
        return (bytesPerOperation / seconds / 1e6).ToString("F0");
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
}
