namespace Coffre.Kms.Root;

/// <summary>
/// The root of trust while a root migration runs (docs/operations.md, "Moving to another root"): it wraps under the
/// new root only and unwraps under either, the new one first, so every key version, access-key secret and signing key
/// opens whether or not it was rewrapped yet. That is what makes the migration resumable after a kill at any point:
/// nothing is ever readable under neither root. Owns both roots.
/// </summary>
public sealed class MigratingRoot : IRootOfTrust
{
    public MigratingRoot(IRootOfTrust previous, IRootOfTrust next)
    {
        if (previous.DeploymentId != next.DeploymentId)
            throw new KmsException(KmsError.InvalidArgument,
                $"The new root belongs to deployment {next.DeploymentId}, the current one to {previous.DeploymentId}; a migration keeps the deployment.");
        Previous = previous;
        Next = next;
    }

    public IRootOfTrust Previous { get; }
    public IRootOfTrust Next { get; }
    public string DeploymentId => Next.DeploymentId;

    public byte[] Wrap(ReadOnlySpan<byte> keyMaterial, ReadOnlySpan<byte> associatedData) => Next.Wrap(keyMaterial, associatedData);

    public void Unwrap(ReadOnlySpan<byte> wrapped, ReadOnlySpan<byte> associatedData, Span<byte> keyMaterial)
    {
        if (!TryUnwrap(Next, wrapped, associatedData, keyMaterial)) Previous.Unwrap(wrapped, associatedData, keyMaterial);
    }

    /// <summary>Whether <paramref name="wrapped"/> already opens under the new root (rewrapped by an earlier run).</summary>
    public bool NextOpens(ReadOnlySpan<byte> wrapped, ReadOnlySpan<byte> associatedData)
    {
        Span<byte> scratch = stackalloc byte[32];
        try
        {
            return TryUnwrap(Next, wrapped, associatedData, scratch);
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(scratch);
        }
    }

    private static bool TryUnwrap(IRootOfTrust root, ReadOnlySpan<byte> wrapped, ReadOnlySpan<byte> associatedData, Span<byte> keyMaterial)
    {
        try
        {
            root.Unwrap(wrapped, associatedData, keyMaterial);
            return true;
        }
        catch (KmsException e) when (e.Error == KmsError.InvalidCiphertext)
        {
            return false;
        }
    }

    public void Dispose()
    {
        Next.Dispose();
        Previous.Dispose();
    }

    public override string ToString() => $"MigratingRoot({Previous} -> {Next})";
}
