namespace Coffre.Fuzz;

/// <summary>
/// One parser under fuzzing. <see cref="Run"/> feeds it one input and returns normally when the parser accepted the
/// input or rejected it the documented way (its own exception type, which the faces turn into a 4xx answer or a
/// named integrity failure). Anything else escapes: AFL++ records it as a crash and the replay test fails on it.
/// A target's constructor runs no Coffre code: under AFL++, instrumented code may only run once SharpFuzz has set up
/// its coverage map (inside <c>Fuzzer.OutOfProcess.Run</c>), so whatever a target prepares is lazy.
/// </summary>
public abstract class FuzzTarget
{
    /// <summary>The name scripts/fuzz.sh and fuzz/corpus/&lt;name&gt;/ use.</summary>
    public abstract string Name { get; }

    public abstract void Run(ReadOnlySpan<byte> input);

    /// <summary>Seed inputs: small valid inputs the target accepts, written to fuzz/corpus by <c>coffre-fuzz seeds</c>.</summary>
    public abstract IEnumerable<(string Name, byte[] Input)> Seeds();

    /// <summary>A parser result that breaks its own contract (e.g. a range outside the object) is a bug like a crash.</summary>
    protected static void Check(bool invariant, string what)
    {
        if (!invariant) throw new FuzzInvariantException(what);
    }
}

/// <summary>A parser returned a result that breaks its contract.</summary>
public sealed class FuzzInvariantException(string message) : Exception(message);
