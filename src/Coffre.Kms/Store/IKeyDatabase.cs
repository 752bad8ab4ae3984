using Coffre.Kms.Access;
using Coffre.Kms.Audit;

namespace Coffre.Kms.Store;

/// <summary>
/// Everything the key manager keeps in one database (SQLite's keys.db, or a PostgreSQL database): the keys,
/// the audit chain and its checkpoints, the access keys, the leases of background work. They share it because a change and its audit record
/// commit in one transaction. Disposing it closes the database.
/// </summary>
public interface IKeyDatabase : IDisposable
{
    /// <summary>The deployment this database belongs to (must match the root of trust).</summary>
    string DeploymentId { get; }

    IKeyStore Keys { get; }

    IAuditLog Audit { get; }

    IAccessKeyStore AccessKeys { get; }

    /// <summary>Reaches the database with a trivial read (for /healthz); <see cref="KmsError.StoreUnavailable"/> when it cannot.</summary>
    Task PingAsync(CancellationToken ct = default);

    /// <summary>Leases of background work, so that one instance at a time runs each job.</summary>
    ILeaseStore Leases { get; }
}
