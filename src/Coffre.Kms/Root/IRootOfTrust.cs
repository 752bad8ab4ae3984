namespace Coffre.Kms.Root;

/// <summary>
/// Holds the deployment's root key and wraps/unwraps 32-byte key material with it. The root key
/// itself never leaves the implementation. Implementations: <see cref="SealedFileRoot"/>
/// (passphrase-sealed file); later Shamir k-of-n unseal and PKCS#11 HSM (non-extractable key).
/// </summary>
public interface IRootOfTrust : IDisposable
{
    /// <summary>Identifier of the deployment this root belongs to (bound into the seal).</summary>
    string DeploymentId { get; }

    /// <summary>Wraps 32 bytes of key material; the result is opaque to callers (61 bytes for the sealed file root).</summary>
    byte[] Wrap(ReadOnlySpan<byte> keyMaterial, ReadOnlySpan<byte> associatedData);

    /// <summary>Unwraps into <paramref name="keyMaterial"/> (32 bytes); throws <see cref="KmsException"/>
    /// with <see cref="KmsError.InvalidCiphertext"/> when the wrapped bytes or the associated data do not verify.</summary>
    void Unwrap(ReadOnlySpan<byte> wrapped, ReadOnlySpan<byte> associatedData, Span<byte> keyMaterial);
}
