using System.Text.Json;

namespace Coffre.Objects.Lock;

/// <summary>
/// A bucket's Object Lock configuration (PutObjectLockConfiguration): lock enabled, and the default retention a new
/// version gets when its write names none (a mode with days or years). Stored whole, as JSON, in the bucket's settings.
/// </summary>
public sealed record BucketObjectLock(ObjectLockMode? DefaultMode = null, int? DefaultDays = null, int? DefaultYears = null)
{
    /// <summary>The bucket setting that holds it (<see cref="Catalog.IBucketSettingsCatalog"/>).</summary>
    public const string Setting = "object-lock";

    /// <summary>The lock a new version gets when its write asks for no retention: the default, counted from <paramref name="now"/>.</summary>
    public VersionLock DefaultFor(DateTimeOffset now, bool legalHold) => DefaultMode is { } mode
        ? new VersionLock(mode, DefaultYears is { } y ? now.AddYears(y) : now.AddDays(DefaultDays ?? 0), legalHold)
        : VersionLock.None with { LegalHold = legalHold };

    public string ToJson() => JsonSerializer.Serialize(this);

    public static BucketObjectLock FromJson(string json) => JsonSerializer.Deserialize<BucketObjectLock>(json)!;
}
