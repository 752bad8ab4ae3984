using System.Security.Cryptography;
using Coffre.Kms.Root;

namespace Coffre.Kms.Keys;

// Root migration (docs/operations.md, "Moving to another root"): with a MigratingRoot attached, every key version is
// rewrapped under the new root, one key per transaction with its audit record, so a kill loses at most the key in
// flight (whose old wrapping is still in the store and still opens).
public sealed partial class KeyManager
{
    public const string RootMigrationRewrapOperation = "RootMigrationRewrap";

    /// <summary>
    /// Whether <paramref name="wrapped"/> still needs rewrapping: true unless the attached root is a <see cref="MigratingRoot"/>
    /// whose new root already opens it. For collaborators that keep root-wrapped secrets of their own (access keys,
    /// the checkpoint signing key), so that a resumed migration skips what an earlier run did.
    /// </summary>
    public bool NeedsRewrap(ReadOnlySpan<byte> wrapped, ReadOnlySpan<byte> associatedData)
    {
        lock (_rootLock)
            return AttachedRoot() is not MigratingRoot migrating || !migrating.NextOpens(wrapped, associatedData);
    }

    /// <summary>
    /// Rewraps every key version that still has material under the attached <see cref="MigratingRoot"/>'s new root. Returns
    /// how many versions were rewrapped now and how many were already (by an earlier, interrupted run).
    /// <paramref name="progress"/> hears the number of versions handled so far after each key.
    /// </summary>
    public (int Rewrapped, int Already) RewrapKeyVersionsUnderNewRoot(string principal, IProgress<int>? progress = null)
    {
        CheckPrincipal(principal);
        lock (_rootLock)
        {
            if (AttachedRoot() is not MigratingRoot)
                throw new KmsException(KmsError.InvalidArgument, "Key versions are rewrapped under a new root only during a root migration.");
        }
        var (rewrapped, already) = (0, 0);
        var material = GC.AllocateArray<byte>(32, pinned: true);
        try
        {
            foreach (var key in _store.ListKeys())
            {
                using var tx = _store.BeginWrite();
                var changed = 0;
                foreach (var version in tx.ListVersions(key.Id))
                {
                    if (version.WrappedMaterial is not { } wrapped) continue;
                    var aad = KekAad(key.Id, version.Version);
                    if (!NeedsRewrap(wrapped, aad))
                    {
                        already++;
                        continue;
                    }
                    UnwrapWithRoot(wrapped, aad, material);
                    tx.ReplaceVersionMaterial(key.Id, version.Version, WrapWithRoot(material, aad));
                    changed++;
                }
                if (changed > 0)
                {
                    tx.AppendAudit(Entry(RootMigrationRewrapOperation, principal, new Target(key.Name) { KeyId = key.Id }, Json(("versions", changed)), null, Ok));
                    tx.Commit();
                }
                rewrapped += changed;
                progress?.Report(rewrapped + already);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
        return (rewrapped, already);
    }
}
