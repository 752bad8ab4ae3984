using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Coffre.Bench.Crypto;

/// <summary>
/// Few invocations of a long operation, many iterations, median and minimum shown: robust enough
/// on a machine shared with other work, and quick (each operation processes 64 MiB).
/// </summary>
public sealed class ThroughputConfig : ManualConfig
{
    public ThroughputConfig()
    {
        AddJob(Job.Default
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(15)
            .WithInvocationCount(4)
            .WithUnrollFactor(1)
            .WithId("Throughput"));
        AddColumn(StatisticColumn.Median, StatisticColumn.Min, new MegabytesPerSecondColumn(64 * 1024 * 1024));
    }
}

/// <summary>MB/s (10^6 bytes per second) of a fixed-size operation, from the median time.</summary>
public sealed class MegabytesPerSecondColumn(long bytesPerOperation) : IColumn
{
    public string Id => nameof(MegabytesPerSecondColumn);
    public string ColumnName => "MB/s (median)";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Plaintext megabytes (10^6 B) per second: 64 MiB / median time";
    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        if (stats is null) return "NA";
        double seconds = stats.Median / 1e9;
        return (bytesPerOperation / seconds / 1e6).ToString("F0");
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
}
