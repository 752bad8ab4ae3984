using Coffre.Kms.Root;

namespace Coffre.Kms.Keys;

/// <summary>Tunables of a <see cref="KeyManager"/>. The defaults are for real use.</summary>
public sealed record KmsOptions
{
    public static readonly TimeSpan MinimumDestructionDelay = TimeSpan.FromDays(1);

    /// <summary>How the root seal is written and which seals are accepted.</summary>
    public SealOptions Seal { get; init; } = SealOptions.Default;

    /// <summary>Waiting period of <see cref="KeyManager.ScheduleDestruction"/> when none is given.</summary>
    public TimeSpan DefaultDestructionDelay { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Test-only: accept destruction delays shorter than <see cref="MinimumDestructionDelay"/>.</summary>
    public bool AllowShortDestructionDelayForTests { get; init; }

    /// <summary>Most audit records committed in one group-commit transaction.</summary>
    public int AuditBatchSize { get; init; } = 512;

    /// <summary>Opt-in: commit group-committed audit records without waiting for the disk (SQLite
    /// synchronous=NORMAL). Default false (FULL): an answer is given only once its audit record is on disk. See
    /// <see cref="Audit.IAuditLog.RelaxedDurability"/> for what it risks.</summary>
    public bool AuditSynchronousNormal { get; init; }

    public static KmsOptions Default { get; } = new();

    /// <summary>Fast, insecure settings for unit tests only (low PBKDF2 iteration count).</summary>
    public static KmsOptions InsecureForTests { get; } = new() { Seal = SealOptions.InsecureForTests };
}
