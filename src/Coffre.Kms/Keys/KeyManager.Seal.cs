using Coffre.Kms.Root;
using Coffre.Kms.Store;

namespace Coffre.Kms.Keys;

// The sealed state (docs/operations.md, "Sealing and unsealing"). Sealed = no root of trust attached: every
// operation that needs key material is refused with KmsError.Sealed, while the store stays open (key metadata,
// the audit trail and listings keep working). Everything that touches the root goes through WrapWithRoot and
// UnwrapWithRoot, which hold _rootLock, so sealing never disposes a root under a running wrap or unwrap.
public sealed partial class KeyManager
{
    private readonly Lock _rootLock = new();
    private readonly SemaphoreSlim _unsealGate = new(1, 1);
    private IRootOfTrust? _root;

    /// <summary>Raised after <see cref="UnsealAsync"/> attached a root (on the unsealing thread): for work that needs the
    /// root and could not run while sealed, such as a first start's default key.</summary>
    public event Action? Unsealed;

    /// <summary>Whether no root of trust is attached (every key use is refused with <see cref="KmsError.Sealed"/>).</summary>
    public bool IsSealed
    {
        get { lock (_rootLock) return _root is null; }
    }

    /// <summary>A key manager over an open database with no root attached: it answers every key use with
    /// <see cref="KmsError.Sealed"/> until <see cref="UnsealAsync"/>.</summary>
    public static async Task<KeyManager> CreateSealedAsync(IKeyDatabase database, TimeProvider? time = null, KmsOptions? options = null)
    {
        var manager = new KeyManager(database, time, options);
        try
        {
            await manager._audit.AppendAsync(manager.Entry("StartSealed", SystemPrincipal, null, null, null, Ok)).ConfigureAwait(false);
        }
        catch
        {
            await manager.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return manager;
    }

    /// <summary>
    /// Seals at once: detaches and disposes the root (which zeroes the root key it held) and retires every cached key
    /// version (zeroed now, or when the operation using it ends). Operations started after this returns are refused
    /// with <see cref="KmsError.Sealed"/>. The seal is recorded after it took effect: an emergency stop must not wait
    /// for, or depend on, the audit trail. Returns false when the key manager was already sealed.
    /// </summary>
    public async Task<bool> SealAsync(string principal)
    {
        CheckPrincipal(principal);
        IRootOfTrust? root;
        lock (_rootLock)
        {
            root = _root;
            _root = null;
            // Under the lock: an unseal cannot attach a root between the detach and the cache reset.
            Interlocked.Exchange(ref _snapshot, new Snapshot(-1)).Retire();
        }
        if (root is null) return false;
        root.Dispose();
        await _audit.AppendAsync(Entry("Seal", principal, null, null, null, Ok)).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Attaches an opened root of trust, which must belong to this deployment; the key manager takes ownership of it.
    /// Recorded (with <paramref name="how"/>, e.g. the root's kind) before any key can be used. Returns false, and
    /// disposes <paramref name="root"/>, when a root is already attached.
    /// </summary>
    public async Task<bool> UnsealAsync(IRootOfTrust root, string principal, string how)
    {
        ArgumentNullException.ThrowIfNull(root);
        // One unseal at a time: the record must be durable before the root is attached, and the audit
        // append is awaited, so it cannot happen under _rootLock.
        await _unsealGate.WaitAsync().ConfigureAwait(false);
        try
        {
            CheckPrincipal(principal);
            CheckDeployment(root);
            if (!IsSealed)
            {
                root.Dispose();
                return false;
            }
            // No audit, no answer: the record is durable before the first key use can be answered.
            await _audit.AppendAsync(Entry("Unseal", principal, null, Json(("root", how)), null, Ok)).ConfigureAwait(false);
            lock (_rootLock) _root = root;
        }
        catch
        {
            if (!ReferenceEquals(_root, root)) root.Dispose();
            throw;
        }
        finally
        {
            _unsealGate.Release();
        }
        Unsealed?.Invoke();
        return true;
    }

    /// <summary>Which seals this key manager accepts (for a <see cref="RootUnsealer"/> of its data directory).</summary>
    public SealOptions SealOptions => _options.Seal;

    /// <summary>Records a change or step of the root of trust made outside the key manager (an unseal share accepted,
    /// a rekey), so the trail shows who did what and when.</summary>
    public Task RecordRootEventAsync(string operation, string principal, params (string Name, object? Value)[] fields)
    {
        CheckPrincipal(principal);
        return _audit.AppendAsync(Entry(operation, principal, null, Json(fields), null, Ok));
    }

    /// <summary>Reseals the attached root's key under new Shamir shares (<see cref="SealedFileRoot.RekeyShamir"/>): no
    /// stored key changes. The caller records the change first (<see cref="RecordRootEventAsync"/>).</summary>
    public IReadOnlyList<string> RekeyShamir(int shares, int threshold)
    {
        lock (_rootLock)
        {
            return AttachedRoot() is SealedFileRoot sealedFile
                ? sealedFile.RekeyShamir(shares, threshold, _time)
                : throw new KmsException(KmsError.InvalidArgument, "Only a root sealed in root.seal can be rekeyed to Shamir shares.");
        }
    }

    private void CheckDeployment(IRootOfTrust root)
    {
        if (root.DeploymentId != _store.DeploymentId)
            throw new KmsException(KmsError.InvalidArgument,
                $"The key store belongs to deployment {_store.DeploymentId} but the root of trust to {root.DeploymentId}.");
    }

    /// <summary>The attached root; call under <see cref="_rootLock"/>.</summary>
    private IRootOfTrust AttachedRoot()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _root ?? throw new KmsException(KmsError.Sealed,
            "The key manager is sealed: no key can be used until it is unsealed (coffre unseal).");
    }
}
