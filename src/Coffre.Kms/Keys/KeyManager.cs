using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Coffre.Kms.Audit;
using Coffre.Kms.Root;
using Coffre.Kms.Store;

namespace Coffre.Kms.Keys;

/// <summary>
/// The key manager: named keys with versions, their lifecycle, data-key and small-data
/// operations, and the audit trail ("no audit, no answer"). Every operation takes the
/// <c>principal</c> performing it and is recorded, whether it succeeds or is refused.
/// Thread-safe. Disposing it disposes the root of trust.
/// </summary>
public sealed partial class KeyManager : IDisposable, IAsyncDisposable
{
    /// <summary>Principal recorded for work done by the scheduler or on open.</summary>
    public const string SystemPrincipal = "coffre:system";
    private const string Ok = "ok";

    private readonly IKeyStore _store;
    private readonly IAuditLog _auditLog;
    private readonly TimeProvider _time;
    private readonly KmsOptions _options;
    private readonly GroupCommitAuditLog _audit;
    private volatile Snapshot _snapshot = new(-1);
    private bool _disposed;

    /// <summary>
    /// Composes a key manager from a root of trust and the database holding keys and audit trail (opened by the
    /// composition root, Coffre.Server's <c>Deployment</c>). Disposing the key manager disposes the root of
    /// trust; the database stays its opener's to close.
    /// </summary>
    public KeyManager(IRootOfTrust root, IKeyDatabase database, TimeProvider? time = null, KmsOptions? options = null)
        : this(database, time, options)
    {
        ArgumentNullException.ThrowIfNull(root);
        CheckDeployment(root);
        _root = root;
    }

    /// <summary>A sealed key manager: the database is open, but no key can be used until <see cref="UnsealAsync"/> attaches a root.</summary>
    private KeyManager(IKeyDatabase database, TimeProvider? time, KmsOptions? options)
    {
        ArgumentNullException.ThrowIfNull(database);
        _store = database.Keys;
        _auditLog = database.Audit;
        _time = time ?? TimeProvider.System;
        _options = options ?? KmsOptions.Default;
        _audit = new GroupCommitAuditLog(_auditLog, _options.AuditBatchSize);
        if (_options.AuditSynchronousNormal) AuditSynchronousNormal = true;
    }

    /// <summary>Group commits of audit records done by this instance and the records they wrote (mean batch = Records / Commits).</summary>
    public (long Commits, long Records) AuditCommitStatistics => _audit.Statistics;

    /// <summary>Whether group-committed audit records skip the fsync per commit (where the audit log can:
    /// <see cref="IAuditLog.CanRelaxDurability"/>; default false). Opt-in for throughput, at the cost of losing the
    /// last records on power failure.</summary>
    public bool AuditSynchronousNormal
    {
        get => _auditLog.RelaxedDurability;
        set => _auditLog.RelaxedDurability = value;
    }

    public string DeploymentId => _store.DeploymentId;

    /// <summary>
    /// Seals 32 bytes of deployment secret material that is not a key (e.g. generated gateway
    /// credentials) under the root of trust, so it is never stored in clear. The associated data
    /// must name the purpose and must not start with the key-version prefix.
    /// </summary>
    public byte[] WrapWithRoot(ReadOnlySpan<byte> material, ReadOnlySpan<byte> associatedData)
    {
        lock (_rootLock) return AttachedRoot().Wrap(material, associatedData);
    }

    /// <summary>Opens what <see cref="WrapWithRoot"/> sealed; throws KmsException(InvalidCiphertext) when it does not verify.</summary>
    public void UnwrapWithRoot(ReadOnlySpan<byte> wrapped, ReadOnlySpan<byte> associatedData, Span<byte> material)
    {
        lock (_rootLock) AttachedRoot().Unwrap(wrapped, associatedData, material);
    }

    /// <summary>Records the creation of the deployment: the first record of its audit trail.</summary>
    public Task RecordInitializedAsync() => _audit.AppendAsync(Entry("Initialize", SystemPrincipal, null, null, null, Ok));

    // ---- cache of resolved keys ------------------------------------------------------------
    //
    // A snapshot belongs to one store generation. Every operation reads the generation (one
    // indexed read); when it moved — a state change by this or any other process — a new,
    // empty snapshot replaces the old one, so disable/destroy take effect on the next operation.
    // The generation is read before the key rows, so a snapshot never holds state older than
    // its generation.

    private sealed class Snapshot(long generation)
    {
        public long Generation { get; } = generation;
        public ConcurrentDictionary<string, CachedKey> ByRef { get; } = new(StringComparer.Ordinal);

        /// <summary>Retires the material of every key cached here: a replaced snapshot keeps no key in memory.</summary>
        public void Retire()
        {
            foreach (var cached in ByRef.Values) cached.Retire();
        }
    }

    private sealed class CachedKey(KeyRecord key, IReadOnlyList<KeyVersionRecord> versions)
    {
        private volatile bool _retired;
        public KeyRecord Key { get; } = key;
        public IReadOnlyList<KeyVersionRecord> Versions { get; } = versions;
        public ConcurrentDictionary<int, KeyMaterial> Material { get; } = new();
        public bool Retired => _retired;

        public void Retire()
        {
            _retired = true;
            foreach (var material in Material.Values) material.Retire();
        }
    }

    private Snapshot CurrentSnapshot()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var generation = _store.ReadGeneration();
        var snapshot = _snapshot;
        if (snapshot.Generation == generation) return snapshot;
        var fresh = new Snapshot(generation);
        // Keep the newest: only replace an older snapshot.
        while (true)
        {
            var current = _snapshot;
            if (current.Generation >= generation) return current;
            if (Interlocked.CompareExchange(ref _snapshot, fresh, current) == current)
            {
                current.Retire();
                return fresh;
            }
        }
    }

    private CachedKey Resolve(string keyRef)
    {
        var snapshot = CurrentSnapshot();
        if (snapshot.ByRef.TryGetValue(keyRef, out var cached)) return cached;
        var key = ResolveRecord(keyRef, _store.FindKeyById, _store.FindKeyByName, _store.FindAlias);
        cached = new CachedKey(key, _store.ListVersions(key.Id));
        snapshot.ByRef[keyRef] = cached;
        return cached;
    }

    private static KeyRecord ResolveRecord(string keyRef, Func<string, KeyRecord?> byId, Func<string, KeyRecord?> byName, Func<string, AliasRecord?> alias)
    {
        if (string.IsNullOrEmpty(keyRef))
            throw new KmsException(KmsError.InvalidArgument, "A key name, key id or alias is required.");
        KeyRecord? key;
        if (KeyNames.IsKeyId(keyRef)) key = byId(keyRef.ToLowerInvariant());
        else if (keyRef.StartsWith(KeyNames.AliasPrefix, StringComparison.Ordinal))
            key = alias(keyRef) is { } a ? byId(a.KeyId) : null;
        else key = byName(keyRef);
        return key ?? throw new KmsException(KmsError.NotFound,
            $"There is no key '{KeyNames.Shorten(keyRef)}'. Check the name, id or alias (list keys to see them).");
    }

    private KeyRecord ResolveRecord(IKeyStoreTransaction tx, string keyRef) =>
        ResolveRecord(keyRef, tx.FindKeyById, tx.FindKeyByName, tx.FindAlias);

    /// <summary>
    /// A lease on the unwrapped material of a version, cached in a pinned array for the snapshot <paramref name="cached"/>
    /// belongs to. Dispose it as soon as the bytes are no longer needed: material of a replaced snapshot is zeroed
    /// when its last lease ends.
    /// </summary>
    private KeyMaterial.Lease Material(CachedKey cached, int version)
    {
        var material = cached.Material.GetOrAdd(version, v => new KeyMaterial(Unwrap(cached, v)));
        // Retired between the snapshot lookup and here: the material added now must be zeroed with the rest.
        if (cached.Retired) material.Retire();
        if (material.TryAcquire() is { } lease) return lease;
        // The snapshot was replaced under this operation: a copy of its own, zeroed when the lease ends.
        var once = new KeyMaterial(Unwrap(cached, version));
        lease = once.TryAcquire()!;
        once.Retire();
        return lease;
    }

    private byte[] Unwrap(CachedKey cached, int version)
    {
        var record = cached.Versions.FirstOrDefault(x => x.Version == version);
        if (record?.WrappedMaterial is null)
            throw new KmsException(KmsError.VersionNotUsable, $"Version {version} of key '{cached.Key.Name}' has no material (destroyed).");
        if (cached.Key.Spec.IsRsa()) return UnsealPrivateKey(cached.Key.Id, version, record.WrappedMaterial);
        var bytes = GC.AllocateArray<byte>(32, pinned: true);
        try
        {
            UnwrapWithRoot(record.WrappedMaterial, KekAad(cached.Key.Id, version), bytes);
        }
        catch
        {
            CryptographicOperations.ZeroMemory(bytes);
            throw;
        }
        return bytes;
    }

    /// <summary>AAD of key-version material wrapped by the root: "coffre/v1/kek" || lp(deployment id) || lp(key id) || u32(version).</summary>
    internal byte[] KekAad(string keyId, int version)
    {
        var label = "coffre/v1/kek"u8;
        var deployment = Encoding.UTF8.GetBytes(DeploymentId);
        var id = Encoding.UTF8.GetBytes(keyId);
        var aad = new byte[label.Length + 4 + deployment.Length + 4 + id.Length + 4];
        var span = aad.AsSpan();
        label.CopyTo(span);
        span = span[label.Length..];
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)deployment.Length);
        deployment.CopyTo(span[4..]);
        span = span[(4 + deployment.Length)..];
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)id.Length);
        id.CopyTo(span[4..]);
        BinaryPrimitives.WriteUInt32BigEndian(span[(4 + id.Length)..], (uint)version);
        return aad;
    }

    // ---- usability rules -------------------------------------------------------------------

    private static void CheckUsable(KeyRecord key)
    {
        switch (key.State)
        {
            case KeyState.Enabled: return;
            case KeyState.Disabled:
                throw new KmsException(KmsError.Disabled, $"Key '{key.Name}' ({key.Id}) is disabled; enable it to use it.");
            case KeyState.PendingDestruction:
                throw new KmsException(KmsError.PendingDestruction,
                    $"Key '{key.Name}' ({key.Id}) is scheduled for destruction on {AuditChain.FormatTime(key.DestructionDate ?? default)} and cannot be used; cancel the destruction to use it again.");
            case KeyState.Destroyed:
                throw new KmsException(KmsError.Destroyed, $"Key '{key.Name}' ({key.Id}) was destroyed; data protected by it can no longer be decrypted.");
        }
    }

    private static int EncryptionVersion(CachedKey cached)
    {
        CheckSymmetric(cached.Key);
        return PrimaryVersion(cached);
    }

    /// <summary>The enabled primary version of a usable key, whatever its spec.</summary>
    private static int PrimaryVersion(CachedKey cached)
    {
        CheckUsable(cached.Key);
        var v = cached.Key.PrimaryVersion;
        var record = cached.Versions.FirstOrDefault(x => x.Version == v);
        if (record is null || record.State != KeyVersionState.Enabled)
            throw new KmsException(KmsError.VersionNotUsable,
                $"The primary version {v} of key '{cached.Key.Name}' is {record?.State.ToString().ToLowerInvariant() ?? "missing"}; rotate the key or enable the version.");
        return v;
    }

    private static void CheckDecryptionVersion(CachedKey cached, int version)
    {
        CheckSymmetric(cached.Key);
        CheckVersionUsable(cached, version);
    }

    /// <summary>Whether <paramref name="version"/> of a usable key may decrypt (or verify), whatever its spec.</summary>
    private static void CheckVersionUsable(CachedKey cached, int version)
    {
        CheckUsable(cached.Key);
        var record = cached.Versions.FirstOrDefault(x => x.Version == version)
            ?? throw new KmsException(KmsError.VersionNotUsable, $"Key '{cached.Key.Name}' has no version {version}.");
        if (record.State != KeyVersionState.Enabled)
            throw new KmsException(KmsError.VersionNotUsable,
                $"Version {version} of key '{cached.Key.Name}' is {record.State.ToString().ToLowerInvariant()}; enable the version to decrypt with it.");
        if (version < cached.Key.MinimumDecryptionVersion)
            throw new KmsException(KmsError.VersionNotUsable,
                $"Version {version} of key '{cached.Key.Name}' is below its minimum decryption version {cached.Key.MinimumDecryptionVersion}; rewrap the data under a newer version or lower the minimum.");
    }

    // ---- audit helpers -----------------------------------------------------------------------

    /// <summary>What an audit record says about the key involved; filled in as it becomes known.</summary>
    private sealed class Target(string? keyRef)
    {
        public string? KeyId;
        public string? KeyName = keyRef;
        public int? Version;

        public void Set(KeyRecord key)
        {
            KeyId = key.Id;
            KeyName = key.Name;
        }
    }

    private AuditEntry Entry(string operation, string principal, Target? target, string? context, int? version, string result) =>
        new(_time.GetUtcNow(), string.IsNullOrEmpty(principal) ? "(none)" : principal, operation,
            target?.KeyId, target?.KeyName is { } n ? KeyNames.Shorten(n) : null, version ?? target?.Version, context, result);

    /// <summary>
    /// One audited answer (no audit, no answer): runs <paramref name="answer"/>, which fills in <paramref name="target"/>
    /// (key, version) and <paramref name="record"/>'s context as they become known. A refusal it throws is recorded and
    /// thrown again; otherwise the answer is recorded and returned once its record is durable. <paramref name="secret"/>
    /// gives what the answer releases (a plaintext, a data key), erased if the record cannot be written.
    /// </summary>
    private async Task<T> AuditedAsync<T>(string operation, string principal, Target target, AuditNote record, Func<T> answer,
        Func<T, byte[]>? secret = null)
    {
        T result;
        try
        {
            CheckPrincipal(principal);
            result = answer();
        }
        catch (KmsException e) when (e.Error != KmsError.AuditUnavailable)
        {
            throw await RefusedAsync(operation, principal, target, record.Context, e).ConfigureAwait(false);
        }
        var entry = Entry(operation, principal, target, record.Context, null, Ok);
        if (secret is null) await _audit.AppendAsync(entry).ConfigureAwait(false);
        else await RecordOrErase(entry, secret(result)).ConfigureAwait(false);
        return result;
    }

    /// <summary>The context an <see cref="AuditedAsync"/> operation records: known up front, or once the operation has checked it.</summary>
    private sealed class AuditNote(string? context = null)
    {
        public string? Context = context;
    }

    /// <summary>Records a refused operation and returns the exception to throw (AuditUnavailable if even that fails).</summary>
    private async Task<KmsException> RefusedAsync(string operation, string principal, Target? target, string? context, KmsException error)
    {
        try
        {
            await _audit.AppendAsync(Entry(operation, principal, target, context, null, error.Error.ToString())).ConfigureAwait(false);
            return error;
        }
        catch (KmsException audit) when (audit.Error == KmsError.AuditUnavailable)
        {
            return audit;
        }
    }

    /// <summary>A synchronous caller's refusal: see <see cref="Wait{T}"/>.</summary>
    private KmsException Refused(string operation, string principal, Target? target, string? context, KmsException error) =>
        Wait(RefusedAsync(operation, principal, target, context, error));

    /// <summary>An audit record of a change a collaborator commits itself (access keys), stamped and named as the key manager's own.</summary>
    public AuditEntry NewAuditEntry(string operation, string principal, string? context)
    {
        CheckPrincipal(principal);
        return Entry(operation, principal, null, context, null, Ok);
    }

    /// <summary>Records a collaborator's refused change and returns the exception to throw (AuditUnavailable if even that fails).</summary>
    public Task<KmsException> RecordRefusalAsync(string operation, string principal, string? context, KmsException error) =>
        RefusedAsync(operation, principal, null, context, error);

    /// <summary>Synchronous form of <see cref="RecordRefusalAsync"/> for synchronous collaborators (the access-key manager).</summary>
    public KmsException RecordRefusal(string operation, string principal, string? context, KmsException error) =>
        Refused(operation, principal, null, context, error);

    /// <summary>
    /// Waits for an audited operation on behalf of a synchronous caller: the CLI, tests, and the synchronous
    /// interfaces of collaborators (the object store's data-key service, the access-key manager). Request paths of the
    /// KMS face call the asynchronous forms instead, so no request thread waits on a commit. The audit commit itself
    /// never needs the waiting thread (the group commit's drain loop runs on the pool), so this cannot deadlock.
    /// </summary>
#pragma warning disable VSTHRD002 // justified above: the one synchronous bridge, for synchronous callers only
    private static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();

    private static void Wait(Task task) => task.GetAwaiter().GetResult();
#pragma warning restore VSTHRD002

    private static void CheckPrincipal(string principal)
    {
        if (string.IsNullOrWhiteSpace(principal))
            throw new KmsException(KmsError.InvalidArgument, "Every operation needs the principal performing it.");
    }

    internal static string Json(params (string Name, object? Value)[] fields)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (name, value) in fields)
            {
                switch (value)
                {
                    case null: json.WriteNull(name); break;
                    case int i: json.WriteNumber(name, i); break;
                    case long l: json.WriteNumber(name, l); break;
                    case bool b: json.WriteBoolean(name, b); break;
                    case DateTimeOffset t: json.WriteString(name, AuditChain.FormatTime(t)); break;
                    default: json.WriteString(name, value.ToString()); break;
                }
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Lets the queued audit records commit, then erases cached key material and disposes the root of trust.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await _audit.DisposeAsync().ConfigureAwait(false);
        _snapshot.Retire();
        lock (_rootLock)
        {
            _root?.Dispose();
            _root = null;
        }
    }

    /// <summary><see cref="DisposeAsync"/> for synchronous owners (the CLI's <c>using</c>, tests); waits for the last commit.</summary>
    public void Dispose()
    {
#pragma warning disable VSTHRD002 // disposal at the end of a command or a test, not a request path
        DisposeAsync().AsTask().GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
    }

    public override string ToString() => $"KeyManager(deployment {DeploymentId})";

    /// <summary>Test hook: the unwrapped material of a key version (to prove it never reaches disk in clear).</summary>
    internal byte[] KeyMaterialForTests(string keyRef, int version)
    {
        var cached = Resolve(keyRef);
        using var lease = Material(cached, version);
        return (byte[])lease.Bytes.Clone();
    }

    /// <summary>
    /// Test hook: a lease on the material of the version as cached by the current snapshot, as an operation holds it,
    /// and a probe telling whether those bytes were zeroed.
    /// </summary>
    internal (IDisposable Lease, Func<bool> Zeroed) HoldMaterialForTests(string keyRef, int version)
    {
        var cached = Resolve(keyRef);
        var lease = Material(cached, version);
        var material = cached.Material[version];
        return (lease, () => material.IsZeroedForTests);
    }
}
