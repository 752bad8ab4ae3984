namespace Coffre.Kms.Root;

/// <summary>How a sealed root file is created and which seals are accepted.</summary>
public sealed record SealOptions
{
    /// <summary>PBKDF2-SHA256 iterations for a new seal (OWASP 2023 recommendation).</summary>
    public const int DefaultIterations = 600_000;

    /// <summary>Below this, a seal is neither written nor accepted unless <see cref="AllowWeakKdfForTests"/> is set.</summary>
    public const int MinimumIterations = 100_000;

    /// <summary>Above this, a seal is neither written nor accepted: the count is read from the file before anything is
    /// authenticated, and an edited seal asking 2^31 iterations would stall every start for many minutes
    /// (ten million take a few seconds).</summary>
    public const int MaximumIterations = 10_000_000;

    public int Iterations { get; init; } = DefaultIterations;

    /// <summary>Test-only: accept iteration counts below <see cref="MinimumIterations"/>.</summary>
    public bool AllowWeakKdfForTests { get; init; }

    public static SealOptions Default { get; } = new();

    /// <summary>Fast, insecure settings for unit tests only.</summary>
    public static SealOptions InsecureForTests { get; } = new() { Iterations = 1_000, AllowWeakKdfForTests = true };

    internal void CheckIterations(int iterations, string path)
    {
        if (iterations < 1 || (iterations < MinimumIterations && !AllowWeakKdfForTests))
            throw new KmsException(KmsError.InvalidArgument,
                $"The seal {path} uses {iterations} PBKDF2 iterations; at least {MinimumIterations} are required.");
        if (iterations > MaximumIterations)
            throw new KmsException(KmsError.InvalidArgument,
                $"The seal {path} asks for {iterations} PBKDF2 iterations; at most {MaximumIterations} are accepted. Restore the seal from a backup.");
    }
}
