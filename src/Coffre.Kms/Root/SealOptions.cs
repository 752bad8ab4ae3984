namespace Coffre.Kms.Root;

/// <summary>How a sealed root file is created and which seals are accepted.</summary>
public sealed record SealOptions
{
    /// <summary>PBKDF2-SHA256 iterations for a new PBKDF2 seal (OWASP 2023 recommendation).</summary>
    public const int DefaultIterations = 600_000;

    /// <summary>Below this, a seal is neither written nor accepted unless <see cref="AllowWeakKdfForTests"/> is set.</summary>
    public const int MinimumIterations = 100_000;

    /// <summary>
    /// Above this, a seal is neither written nor accepted, even in tests: the count is read from the file before
    /// anything is authenticated, so a <c>root.seal</c> edited to 2^31 iterations would otherwise hang every start
    /// for hours. Ten million is about 17 times the default (a few seconds here), room for stronger seals.
    /// </summary>
    public const int MaximumIterations = 10_000_000;

    /// <summary>
    /// Argon2id for a new seal: OWASP's recommended 19 MiB, 2 passes, 1 lane. RFC 9106's 64 MiB × 3 passes took about
    /// 10 s per derivation with this managed implementation on the 2-core test machine (while shared), too long for
    /// every CLI command; 19 MiB × 2 costs the attacker the same memory per guess at a sixth of the time.
    /// </summary>
    public const int DefaultArgon2MemoryKib = 19 * 1024;
    public const int DefaultArgon2Passes = 2;
    public const int DefaultArgon2Parallelism = 1;

    /// <summary>OWASP's minimum (19 MiB); below it a seal is neither written nor accepted unless <see cref="AllowWeakKdfForTests"/>.</summary>
    public const int MinimumArgon2MemoryKib = 19 * 1024;

    /// <summary>
    /// Bounds read from the file before anything is authenticated, even in tests: an edited <c>root.seal</c> must
    /// neither eat all memory (1 GiB at most) nor hang a start (at most 16 passes, 1 GiB × 16 passes is about a minute here).
    /// </summary>
    public const int MaximumArgon2MemoryKib = 1024 * 1024;
    public const int MaximumArgon2Passes = 16;
    public const int MaximumArgon2Parallelism = 16;

    /// <summary>The KDF of a new passphrase seal: <see cref="RootSealFile.Argon2id"/> (default) or <see cref="RootSealFile.Pbkdf2"/>.</summary>
    public string Kdf { get; init; } = RootSealFile.Argon2id;

    /// <summary>PBKDF2 iterations, or Argon2id passes, of a new seal.</summary>
    public int Iterations { get; init; } = DefaultIterations;

    public int Argon2MemoryKib { get; init; } = DefaultArgon2MemoryKib;
    public int Argon2Passes { get; init; } = DefaultArgon2Passes;
    public int Argon2Parallelism { get; init; } = DefaultArgon2Parallelism;

    /// <summary>Test-only: accept iteration counts below <see cref="MinimumIterations"/> and Argon2 memory below the minimum.</summary>
    public bool AllowWeakKdfForTests { get; init; }

    public static SealOptions Default { get; } = new();

    /// <summary>Fast, insecure settings for unit tests only (PBKDF2, 1000 iterations).</summary>
    public static SealOptions InsecureForTests { get; } = new() { Kdf = RootSealFile.Pbkdf2, Iterations = 1_000, AllowWeakKdfForTests = true };

    /// <summary>Fast, insecure Argon2id settings for unit tests only (1 MiB, 1 pass).</summary>
    public static SealOptions InsecureArgon2ForTests { get; } = new() { Argon2MemoryKib = 1024, Argon2Passes = 1, AllowWeakKdfForTests = true };

    internal void CheckIterations(int iterations, string path)
    {
        if (iterations < 1 || (iterations < MinimumIterations && !AllowWeakKdfForTests))
            throw new KmsException(KmsError.InvalidArgument,
                $"The seal {path} uses {iterations} PBKDF2 iterations; at least {MinimumIterations} are required.");
        if (iterations > MaximumIterations)
            throw new KmsException(KmsError.InvalidArgument,
                $"The seal {path} asks for {iterations} PBKDF2 iterations, more than the {MaximumIterations} Coffre accepts; " +
                "the file was modified, or written by another program. Restore it from a backup.");
    }

    public void CheckArgon2(int memoryKib, int passes, int parallelism, string path)
    {
        if (memoryKib > MaximumArgon2MemoryKib || passes > MaximumArgon2Passes || parallelism > MaximumArgon2Parallelism)
            throw new KmsException(KmsError.InvalidArgument,
                $"The seal {path} asks for Argon2id with {memoryKib} KiB, {passes} passes, {parallelism} lanes, more than Coffre accepts " +
                $"({MaximumArgon2MemoryKib} KiB, {MaximumArgon2Passes} passes, {MaximumArgon2Parallelism} lanes); " +
                "the file was modified, or written by another program. Restore it from a backup.");
        if (memoryKib < 8 * parallelism || (memoryKib < MinimumArgon2MemoryKib && !AllowWeakKdfForTests) || passes < 1 || parallelism < 1)
            throw new KmsException(KmsError.InvalidArgument,
                $"The seal {path} uses Argon2id with {memoryKib} KiB, {passes} passes, {parallelism} lanes; at least {MinimumArgon2MemoryKib} KiB and 1 pass are required.");
    }
}
