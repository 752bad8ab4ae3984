namespace Coffre.Objects.Versions;

/// <summary>
/// A bucket's versioning state, as S3 has it: a bucket starts unversioned; once versioning has been enabled it can
/// only be suspended, never returned to unversioned.
/// </summary>
public enum BucketVersioning
{
    Unversioned,
    Enabled,
    Suspended,
}
