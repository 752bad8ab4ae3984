using Coffre.Fuzz;
using SharpFuzz;

// coffre-fuzz list                      the target names
// coffre-fuzz fuzz TARGET               run under afl-fuzz (scripts/fuzz.sh): one input per AFL++ execution, from stdin
// coffre-fuzz replay TARGET FILE...     run files through a target in-process; prints what escaped (exit 1)
// coffre-fuzz seeds DIR                 (re)write the seed corpus DIR/<target>/*
switch (args)
{
    case ["list"]:
        foreach (var t in FuzzTargets.All) Console.WriteLine(t.Name);
        return 0;
    case ["fuzz", var name]:
    {
        var target = Require(name);
        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var input = new MemoryStream();
            stream.CopyTo(input);
            target.Run(input.GetBuffer().AsSpan(0, (int)input.Length));
        });
        return 0;
    }
    case ["replay", var name, .. var files] when files.Length > 0:
    {
        var target = Require(name);
        var failed = 0;
        foreach (var file in files)
        {
            try
            {
                target.Run(File.ReadAllBytes(file));
            }
            catch (Exception e)
            {
                failed++;
                Console.WriteLine($"{file}: {e}");
            }
        }
        Console.WriteLine($"{name}: {files.Length - failed} of {files.Length} inputs passed");
        return failed == 0 ? 0 : 1;
    }
    case ["seeds", var dir]:
        foreach (var t in FuzzTargets.All)
        {
            var folder = Directory.CreateDirectory(Path.Combine(dir, t.Name)).FullName;
            foreach (var (seed, bytes) in t.Seeds())
            {
                t.Run(bytes); // a seed the target rejects as a crash would make AFL++ refuse to start
                File.WriteAllBytes(Path.Combine(folder, seed), bytes);
            }
        }
        return 0;
    default:
        Console.Error.WriteLine("usage: coffre-fuzz list | fuzz TARGET | replay TARGET FILE... | seeds DIR");
        return 2;
}

static FuzzTarget Require(string name) =>
    FuzzTargets.Find(name) ?? throw new ArgumentException(
        $"No fuzz target '{name}'; the targets are: {string.Join(", ", FuzzTargets.All.Select(t => t.Name))}.");
