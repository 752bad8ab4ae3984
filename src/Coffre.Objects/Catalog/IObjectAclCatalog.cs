namespace Coffre.Objects.Catalog;

/// <summary>
/// The ACLs of object versions (S3 object ACLs), each stored whole as text (JSON) the catalog never queries inside. A
/// version without one has the owner's full control. <see cref="IObjectCatalog.DeleteVersionAsync"/> forgets the ACL of
/// the version it deletes, and a new null version does not inherit the ACL of the null version it replaces.
/// </summary>
public interface IObjectAclCatalog
{
    /// <summary>An object version's ACL, or null when none was set (or there is no such version).</summary>
    Task<string?> GetObjectAclAsync(string bucket, string name, string versionId, CancellationToken ct = default);

    /// <summary>Sets (or with null removes) an object version's ACL; false when the version does not exist or is a delete marker.</summary>
    Task<bool> SetObjectAclAsync(string bucket, string name, string versionId, string? acl, CancellationToken ct = default);
}
