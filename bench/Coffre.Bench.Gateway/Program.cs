using Coffre.Bench.Gateway;
using Coffre.TestSupport;
using static Coffre.Bench.Gateway.Report;

// Linux only: CPU time and memory come from /proc, and nginx's root needs Unix file modes.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// The data-path benchmark (issue 20), one command for every comparison: see Options.Usage and docs/benchmarks.md.
// Prints a markdown report on stdout (progress on stderr); docs/benchmarks.md keeps the figures of a run.
var opts = Options.Parse(args);
var work = Directory.CreateTempSubdirectory("coffre-bench-files-").FullName;
try
{
    var file = Path.Combine(work, "big.bin");
    WriteRandomFile(file, opts.SizeMiB * 1024L * 1024);
    var clients = opts.Clients.Select(c => BenchClient.Create(c, work)).ToList();
    Say($"## Data path, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {ServerCpu.LoadAverage()} at the start");
    Say();
    Say($"`{string.Join(' ', args)}`; warm-up {opts.WarmupSeconds} s per gateway before measuring.");
    Say();
    if (opts.Runs("local")) await LocalDiskComparison.RunAsync(file, work, opts);
    if (opts.Runs("s3rver"))
    {
        using var s3rver = new S3rverServer();
        await S3BackendComparison.RunAsync("s3rver", s3rver, clients, file, opts);
    }
    if (opts.Runs("moto"))
    {
        using var moto = new MotoServer();
        await S3BackendComparison.RunAsync("moto", moto, clients, file, opts);
    }
}
finally
{
    Directory.Delete(work, true);
}
return 0;

static void WriteRandomFile(string path, long size)
{
    var buffer = new byte[1 << 20];
    using var f = File.Create(path);
    for (long done = 0; done < size; done += buffer.Length)
    {
        Random.Shared.NextBytes(buffer);
        f.Write(buffer, 0, (int)Math.Min(buffer.Length, size - done));
    }
}
