using Coffre.TestSupport;

namespace Coffre.Fuzz.Tests;

/// <summary>
/// Every seed of fuzz/corpus and every input the fuzzer found a bug with (fuzz/regressions) replayed in-process
/// through its target: each must be accepted or rejected the documented way, without an unexpected exception and
/// without hanging. This is how a fuzzer finding stays fixed in the normal test suite.
/// </summary>
public sealed class ReplayTests
{
    // Far above what any input takes (milliseconds); only a hang reaches it.
    private static readonly TimeSpan HangBound = TimeSpan.FromMinutes(1);

    private static string FuzzFolder => Path.Combine(
        Tools.FindRepositoryRoot() ?? throw new InvalidOperationException("Coffre.sln not found above the test assembly; run the tests from the repository."),
        "fuzz");

    public static TheoryData<string, string> Inputs()
    {
        var data = new TheoryData<string, string>();
        foreach (var kind in new[] { "corpus", "regressions" })
        {
            var folder = Path.Combine(FuzzFolder, kind);
            if (!Directory.Exists(folder)) continue; // no regressions yet
            foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                data.Add(Path.GetFileName(Path.GetDirectoryName(file)!), Path.GetRelativePath(FuzzFolder, file));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public async Task Input_is_accepted_or_rejected_the_documented_way(string target, string file)
    {
        var fuzzTarget = FuzzTargets.Find(target);
        Assert.True(fuzzTarget is not null, $"{file} is in a folder named after no fuzz target");
        var input = await File.ReadAllBytesAsync(Path.Combine(FuzzFolder, file));
        await Task.Run(() => fuzzTarget.Run(input)).WaitAsync(HangBound);
    }

    [Fact]
    public void Every_target_has_a_seed_corpus()
    {
        foreach (var target in FuzzTargets.All)
        {
            var folder = Path.Combine(FuzzFolder, "corpus", target.Name);
            Assert.True(Directory.Exists(folder) && Directory.EnumerateFiles(folder).Any(), $"no seeds in {folder}");
        }
    }
}
