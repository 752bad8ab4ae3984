namespace Coffre.Objects.Lock;

/// <summary>How a lock's mode is written, in S3's words: in the catalog's rows, the XML and the headers alike.</summary>
public static class VersionLocks
{
    public const string Governance = "GOVERNANCE", Compliance = "COMPLIANCE";

    public static string? ModeName(ObjectLockMode? mode) => mode switch
    {
        ObjectLockMode.Governance => Governance,
        ObjectLockMode.Compliance => Compliance,
        _ => null,
    };

    /// <summary>The mode S3 names <paramref name="name"/>; null when it names none (the caller says what is wrong).</summary>
    public static ObjectLockMode? ParseMode(string? name) => name switch
    {
        Governance => ObjectLockMode.Governance,
        Compliance => ObjectLockMode.Compliance,
        _ => null,
    };
}
