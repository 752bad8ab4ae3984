using Coffre.Kms.Audit;
using Coffre.Kms.Keys;

namespace Coffre.Kms.Store;

/// <summary>A key as stored. Material lives in <see cref="KeyVersionRecord"/>, wrapped by the root key.</summary>
public sealed record KeyRecord(
    string Id,
    string Name,
    string? Description,
    DateTimeOffset Created,
    KeyState State,
    KeyState? StateBeforeDestruction,
    int PrimaryVersion,
    int MinimumDecryptionVersion,
    TimeSpan? RotationPeriod,
    DateTimeOffset? NextRotation,
    DateTimeOffset? DestructionDate,
    IReadOnlyDictionary<string, string> Tags);

/// <summary>A key version as stored; <see cref="WrappedMaterial"/> is null once destroyed.</summary>
public sealed record KeyVersionRecord(
    string KeyId,
    int Version,
    KeyVersionState State,
    DateTimeOffset Created,
    DateTimeOffset? Destroyed,
    byte[]? WrappedMaterial)
{
    public override string ToString() => $"KeyVersionRecord({KeyId} v{Version}, {State})";
}

public sealed record AliasRecord(string Alias, string KeyId, DateTimeOffset Created);

/// <summary>
/// Persistent key store (SQLite now, PostgreSQL later). Holds key metadata, versions with material
/// wrapped by the root key only, aliases and the audit chain. A monotonically increasing
/// <see cref="ReadGeneration">generation</see> changes with every committed state change, so
/// caches in any process sharing the store can tell cheaply when to re-read.
/// </summary>
public interface IKeyStore : IDisposable
{
    /// <summary>The deployment this store belongs to (must match the root of trust).</summary>
    string DeploymentId { get; }

    long ReadGeneration();
    KeyRecord? FindKeyById(string id);
    KeyRecord? FindKeyByName(string name);
    AliasRecord? FindAlias(string alias);
    IReadOnlyList<KeyRecord> ListKeys();
    IReadOnlyList<KeyVersionRecord> ListVersions(string keyId);
    IReadOnlyList<AliasRecord> ListAliases();

    /// <summary>Starts a serialized read-write transaction (one writer at a time across processes).</summary>
    IKeyStoreTransaction BeginWrite();

    /// <summary>Appends a batch of audit records in one transaction, chained after the current tail.
    /// Throws <see cref="KmsException"/> (<see cref="KmsError.AuditUnavailable"/>) if they are not durably written.</summary>
    void AppendAudit(IReadOnlyList<AuditEntry> entries);

    IReadOnlyList<AuditRecord> ReadAudit(AuditFilter filter);

    /// <summary>All records in sequence order, for verification.</summary>
    IEnumerable<AuditRecord> ReadAuditChain();
}

/// <summary>A read-write transaction; disposed without <see cref="Commit"/> it rolls back.</summary>
public interface IKeyStoreTransaction : IDisposable
{
    KeyRecord? FindKeyById(string id);
    KeyRecord? FindKeyByName(string name);
    AliasRecord? FindAlias(string alias);
    IReadOnlyList<KeyRecord> ListKeys();
    IReadOnlyList<KeyVersionRecord> ListVersions(string keyId);

    void InsertKey(KeyRecord key);
    void UpdateKey(KeyRecord key);
    void InsertVersion(KeyVersionRecord version);
    void SetVersionState(string keyId, int version, KeyVersionState state);
    /// <summary>Marks every version destroyed and overwrites then erases its material.</summary>
    void DestroyVersions(string keyId, DateTimeOffset when);
    void UpsertAlias(AliasRecord alias);
    bool DeleteAlias(string alias);

    /// <summary>Appends an audit record in this transaction (committed or rolled back with the change).</summary>
    void AppendAudit(AuditEntry entry);

    /// <summary>Bumps the generation and commits.</summary>
    void Commit();
}
