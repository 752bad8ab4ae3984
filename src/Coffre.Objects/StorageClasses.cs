namespace Coffre.Objects;

/// <summary>
/// S3 storage classes. Coffre stores and answers each version's class; every class is served by the bucket's
/// placement today. The class is kept in clear in the catalog (listings show it without a key), so a placement
/// policy can later map classes to backends (docs/architecture.md, "Storage classes").
/// </summary>
public static class StorageClasses
{
    public const string Standard = "STANDARD";

    /// <summary>Every class S3 documents for x-amz-storage-class.</summary>
    public static readonly IReadOnlySet<string> Known = new HashSet<string>(StringComparer.Ordinal)
    {
        Standard, "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER", "DEEP_ARCHIVE",
        "GLACIER_IR", "OUTPOSTS", "EXPRESS_ONEZONE",
    };
}
