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
    IReadOnlyDictionary<string, string> Tags,
    KeySpec Spec = KeySpec.SymmetricDefault,
    KeyUsage Usage = KeyUsage.EncryptDecrypt);

/// <summary>A key version as stored; <see cref="WrappedMaterial"/> is null once destroyed. For an RSA key it is the
/// sealed private key of docs/format.md §6.6 (a root-wrapped version key and the PKCS#8 key encrypted under it).</summary>
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
/// Persistent key store: key metadata, versions with material wrapped by the root key only, aliases. A
/// monotonically increasing <see cref="ReadGeneration">generation</see> changes with every committed state
/// change, so caches in any process sharing the store can tell cheaply when to re-read. Implementations
/// (SQLite, PostgreSQL) throw <see cref="KmsException"/> only: a failure of the database is
/// <see cref="KmsError.StoreUnavailable"/> (the faces answer 503), never a driver's exception.
/// </summary>
public interface IKeyStore
{
    /// <summary>The deployment this store belongs to (must match the root of trust).</summary>
    string DeploymentId { get; }

    /// <summary>
    /// The generation of the last committed change this process knows of. Called by every key-manager operation,
    /// so it must not cost a database round trip where one is expensive: an implementation shared by several
    /// instances may answer from memory, kept current by change notifications, within the bound it documents.
    /// </summary>
    long ReadGeneration();
    KeyRecord? FindKeyById(string id);
    KeyRecord? FindKeyByName(string name);
    AliasRecord? FindAlias(string alias);
    IReadOnlyList<KeyRecord> ListKeys();
    IReadOnlyList<KeyVersionRecord> ListVersions(string keyId);
    IReadOnlyList<AliasRecord> ListAliases();

    /// <summary>Starts a serialized read-write transaction (one writer at a time across processes and instances).</summary>
    IKeyStoreTransaction BeginWrite();
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
    /// <summary>Replaces the wrapped material of a version that still has some (a root migration rewraps it under the
    /// new root); a destroyed version stays destroyed.</summary>
    void ReplaceVersionMaterial(string keyId, int version, byte[] wrappedMaterial);
    /// <summary>Marks every version destroyed and overwrites then erases its material.</summary>
    void DestroyVersions(string keyId, DateTimeOffset when);
    void UpsertAlias(AliasRecord alias);
    bool DeleteAlias(string alias);

    /// <summary>Appends an audit record to the audit chain in this transaction (committed or rolled back with the change).</summary>
    void AppendAudit(AuditEntry entry);

    /// <summary>Bumps the generation and commits; <see cref="KmsError.AuditUnavailable"/> if the change and its
    /// audit record could not be committed (then neither was).</summary>
    void Commit();
}
