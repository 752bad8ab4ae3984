using Coffre.Kms.Keys;
using Coffre.Objects.Catalog;

namespace Coffre.Server.Hosting;

/// <summary>
/// Refuses to destroy a key while an object version it protects is under S3 Object Lock (an unexpired retention or a
/// legal hold): destroying the key would destroy the version as surely as deleting it (crypto-shredding), which the lock
/// forbids, GOVERNANCE included. The refusal names the first locked versions and what to do.
/// </summary>
public sealed class ObjectLockDestructionGuard(Func<IObjectCatalog?> openCatalog, TimeProvider time) : IKeyDestructionGuard
{
    private const int Shown = 5;

    public async Task<string?> RefusalAsync(string keyId, CancellationToken ct = default)
    {
        var catalog = openCatalog();
        if (catalog is null) return null;
        try
        {
            var locked = await catalog.LockedVersionsUnderKeyAsync(keyId, time.GetUtcNow(), Shown + 1, ct).ConfigureAwait(false);
            if (locked.Count == 0) return null;
            var named = string.Join(", ", locked.Take(Shown).Select(v =>
                $"{v.Bucket}/{v.Name} version {v.VersionId} ({(v.Lock.LegalHold ? "legal hold" : "")}{(v.Lock.LegalHold && v.Lock.Mode is not null ? ", " : "")}" +
                $"{(v.Lock.Mode is { } m ? $"{Objects.Lock.VersionLocks.ModeName(m)} until {v.Lock.RetainUntil:u}" : "")})"));
            return $"The key protects object versions under S3 Object Lock, which destroying the key would erase: {named}" +
                $"{(locked.Count > Shown ? " and more" : "")}. Wait for their retention to pass and remove their legal holds, then destroy the key.";
        }
        finally
        {
            if (catalog is IAsyncDisposable disposable) await disposable.DisposeAsync().ConfigureAwait(false);
        }
    }
}
