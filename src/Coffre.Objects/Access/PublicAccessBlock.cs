using System.Text.Json;

namespace Coffre.Objects.Access;

/// <summary>
/// S3's public access block of a bucket: four flags that keep ACLs and policies from making it public. A bucket with
/// none configured is treated as all four on (Coffre's default, unlike AWS where nothing blocks then); the operator's
/// <c>Coffre:S3:BlockPublicAccess</c> switch turns all four on for every bucket, whatever the bucket says.
/// </summary>
public sealed record PublicAccessBlock(bool BlockPublicAcls, bool IgnorePublicAcls, bool BlockPublicPolicy, bool RestrictPublicBuckets)
{
    /// <summary>The bucket setting holding it (<see cref="Catalog.IBucketSettingsCatalog"/>).</summary>
    public const string Setting = "public-access-block";

    public static readonly PublicAccessBlock AllOn = new(true, true, true, true);

    /// <summary>What applies to a bucket: its own configuration (all on when none), or all on when the operator blocks public access.</summary>
    public static PublicAccessBlock Effective(PublicAccessBlock? configured, bool operatorBlocks) => operatorBlocks ? AllOn : configured ?? AllOn;

    public string ToJson() => JsonSerializer.Serialize(this);

    public static PublicAccessBlock FromJson(string json) =>
        JsonSerializer.Deserialize<PublicAccessBlock>(json) ?? throw new InvalidDataException("A public access block record is empty.");
}
