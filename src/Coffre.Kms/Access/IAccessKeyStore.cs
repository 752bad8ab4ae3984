using Coffre.Kms.Audit;

namespace Coffre.Kms.Access;

/// <summary>
/// Persistence of access keys, beside the keys in the key database (<see cref="Store.IKeyDatabase"/>: SQLite or PostgreSQL).
/// Every write carries its audit record and commits both or neither, chained into the same audit trail as
/// key changes. A generation that moves with every committed change lets servers notice changes made by any process.
/// Implementations throw <see cref="KmsException"/> only.
/// </summary>
public interface IAccessKeyStore
{
    /// <summary>Changes with every committed write (monotonic); cheap to read.</summary>
    long ReadGeneration();

    AccessKeyRecord? Find(string accessKeyId);

    /// <summary>Every access key, revoked ones included, in creation order.</summary>
    IReadOnlyList<AccessKeyRecord> List();

    /// <summary>Adds a new access key; <see cref="KmsError.AlreadyExists"/> if the id is taken (even by a revoked key).</summary>
    void Insert(AccessKeyRecord record, AuditEntry audit);

    /// <summary>Replaces the stored record whose revision is <c>record.Revision - 1</c>; <see cref="KmsError.NotFound"/> when
    /// there is no such key, <see cref="KmsError.Conflict"/> when it changed since it was read.</summary>
    void Update(AccessKeyRecord record, AuditEntry audit);
}
