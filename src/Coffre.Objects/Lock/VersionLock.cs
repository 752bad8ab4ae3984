namespace Coffre.Objects.Lock;

/// <summary>S3 Object Lock's retention modes.</summary>
public enum ObjectLockMode
{
    /// <summary>Shortened or removed only by a principal granted the governance bypass, asking for it.</summary>
    Governance,
    /// <summary>Never shortened nor removed by anyone until the date passes.</summary>
    Compliance,
}

/// <summary>
/// The lock on one object version: a retention (mode and date) and a legal hold, each optional. Kept in the catalog
/// beside the version, in clear: a date and a flag, nothing a provider learns from that a listing would not show.
/// </summary>
public sealed record VersionLock(ObjectLockMode? Mode, DateTimeOffset? RetainUntil, bool LegalHold)
{
    public static VersionLock None { get; } = new(null, null, false);

    /// <summary>Whether the retention still runs at <paramref name="now"/>.</summary>
    public bool RetentionActive(DateTimeOffset now) => Mode is not null && RetainUntil > now;

    /// <summary>Whether anything protects the version at <paramref name="now"/>: an unexpired retention or a legal hold.</summary>
    public bool Protects(DateTimeOffset now) => LegalHold || RetentionActive(now);

    /// <summary>
    /// Why the version may not be deleted at <paramref name="now"/> (null: it may): a legal hold, a compliance retention,
    /// or a governance retention without <paramref name="bypassGovernance"/>. S3 answers every case 403 AccessDenied.
    /// </summary>
    public ObjectStoreException? DeleteRefusal(string bucket, string name, string versionId, DateTimeOffset now, bool bypassGovernance)
    {
        var what = $"The version '{versionId}' of '{name}' in bucket '{bucket}'";
        if (LegalHold)
            return new ObjectStoreException(ObjectError.ObjectLocked, $"{what} is under a legal hold: remove the hold (PutObjectLegalHold OFF) before deleting it.");
        if (!RetentionActive(now)) return null;
        if (Mode == ObjectLockMode.Compliance)
            return new ObjectStoreException(ObjectError.ObjectLocked, $"{what} is under COMPLIANCE retention until {RetainUntil:u}: nobody can delete it before then.");
        return bypassGovernance ? null : new ObjectStoreException(ObjectError.ObjectLocked,
            $"{what} is under GOVERNANCE retention until {RetainUntil:u}: only a principal granted the governance bypass, sending x-amz-bypass-governance-retention: true, can delete it.");
    }

    /// <summary>
    /// Why this version's retention may not become <paramref name="next"/> (null: it may). A retention may always be
    /// extended; a compliance retention is never shortened, removed or turned into governance; a governance one only
    /// with <paramref name="bypassGovernance"/>.
    /// </summary>
    public ObjectStoreException? RetentionChangeRefusal(ObjectLockMode? nextMode, DateTimeOffset? nextUntil, DateTimeOffset now, bool bypassGovernance)
    {
        if (!RetentionActive(now)) return null;
        var weakened = nextMode is null || nextUntil < RetainUntil || (Mode == ObjectLockMode.Compliance && nextMode != ObjectLockMode.Compliance);
        if (!weakened) return null;
        if (Mode == ObjectLockMode.Compliance)
            return new ObjectStoreException(ObjectError.ObjectLocked, $"The version is under COMPLIANCE retention until {RetainUntil:u}: it can be extended, never shortened nor removed.");
        return bypassGovernance ? null : new ObjectStoreException(ObjectError.ObjectLocked,
            $"The version is under GOVERNANCE retention until {RetainUntil:u}: shortening or removing it needs the governance bypass grant and x-amz-bypass-governance-retention: true.");
    }
}
