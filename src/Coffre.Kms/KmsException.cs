namespace Coffre.Kms;

/// <summary>What went wrong in a key-management operation. The names are stable: they are the
/// "result" written to the audit trail and what the HTTP faces map to their own error codes.</summary>
public enum KmsError
{
    NotFound,
    AlreadyExists,
    InvalidName,
    Disabled,
    PendingDestruction,
    Destroyed,
    VersionNotUsable,
    InvalidCiphertext,
    AuditUnavailable,
    WrongPassphrase,
    NotInitialized,
    AlreadyInitialized,
    InvalidArgument,
    Conflict,
    StoreUnavailable,
    /// <summary>The ciphertext was made under another key than the one the caller named.</summary>
    IncorrectKey,
    /// <summary>The key exists and is usable, but not for this operation (an RSA key asked to wrap a data key, a signing key
    /// asked to decrypt, an algorithm its spec does not have).</summary>
    InvalidKeyUsage,
    /// <summary>The operation does not exist for keys of this spec (the public key of a symmetric key).</summary>
    UnsupportedOperation,
    /// <summary>A signature does not verify under any usable version of the key.</summary>
    InvalidSignature,
    /// <summary>The principal may not perform this operation on this key (recorded by <c>KeyManager.RecordDenied</c>).</summary>
    AccessDenied,
    /// <summary>The key manager is sealed: no root of trust is attached, so no key can be used until it is unsealed.</summary>
    Sealed,
    /// <summary>An unseal share was malformed, tampered with, already submitted, or not one of this root's shares.</summary>
    InvalidShare,
    /// <summary>Too many failed unseal attempts in a short time; wait before trying again.</summary>
    TooManyAttempts,
    /// <summary>The key still protects data that may not be lost yet (object versions under Object Lock): not destroyed.</summary>
    DestructionRefused,
}

/// <summary>
/// The one exception type of Coffre.Kms. The message names the key (by name or id, never by
/// material) and says what to do; it never contains key material, plaintext or passphrases.
/// </summary>
public sealed class KmsException : Exception
{
    public KmsError Error { get; }

    public KmsException(KmsError error, string message) : base(message) => Error = error;

    public KmsException(KmsError error, string message, Exception inner) : base(message, inner) => Error = error;
}
