using System.Security.Cryptography;

namespace Coffre.Kms.Keys;

/// <summary>
/// AES-256-GCM output of <see cref="KeyManager.EncryptExternalAsync"/>: the parts a hold-your-own-key protocol carries
/// separately (the cloud provider assembles its own ciphertext blob from them), and the key version to name in it.
/// </summary>
public sealed record ExternalCiphertext(string KeyId, int KeyVersion, byte[] Nonce, byte[] Ciphertext, byte[] Tag)
{
    public override string ToString() => $"ExternalCiphertext({KeyId} v{KeyVersion}, {Ciphertext.Length} bytes)";
}

/// <summary>What a hold-your-own-key protocol may tell its caller about a key: its state, never its material.</summary>
public sealed record ExternalKeyStatus(string KeyId, string KeyName, KeyState State, int PrimaryVersion);

public sealed partial class KeyManager
{
    /// <summary>The nonce size of the external operations: AES-GCM's 96 bits (the only size .NET's AesGcm takes).</summary>
    public const int ExternalNonceSize = 12;
    public const int ExternalTagSize = 16;

    /// <summary>
    /// Encrypts <paramref name="plaintext"/> with AES-256-GCM directly under the key's primary version, with the
    /// AAD <paramref name="associatedData"/> builds for the version used, for protocols that keep ciphertext, nonce and
    /// tag apart and build their own AAD (the AWS External Key Store proxy). The caller carries
    /// <see cref="ExternalCiphertext.KeyVersion"/> with the ciphertext, authenticated inside that AAD, so that decryption
    /// uses the same version after a rotation; the version is the one chosen here, under the same snapshot as the
    /// material, so a rotation landing meanwhile cannot make the AAD name another.
    /// Audited as "ExternalEncrypt" with <paramref name="auditContext"/> (a JSON object naming the face and the
    /// protocol's request details); answered only once the record is durable.
    /// </summary>
    public async Task<ExternalCiphertext> EncryptExternalAsync(string keyRef, ReadOnlyMemory<byte> plaintext, Func<int, byte[]> associatedData,
        string principal, string? auditContext)
    {
        var target = new Target(keyRef);
        return await AuditedAsync("ExternalEncrypt", principal, target, new AuditNote(auditContext), () =>
        {
            var cached = Resolve(keyRef);
            target.Set(cached.Key);
            var version = EncryptionVersion(cached);
            target.Version = version;
            var nonce = RandomNumberGenerator.GetBytes(ExternalNonceSize);
            var ciphertext = new byte[plaintext.Length];
            var tag = new byte[ExternalTagSize];
            using (var kek = Material(cached, version))
            using (var gcm = new AesGcm(kek.Bytes, ExternalTagSize))
                gcm.Encrypt(nonce, plaintext.Span, ciphertext, tag, associatedData(version));
            return new ExternalCiphertext(cached.Key.Id, version, nonce, ciphertext, tag);
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Decrypts what <see cref="EncryptExternalAsync"/> made under <paramref name="keyVersion"/> of the key (enabled,
    /// at least the minimum decryption version). A ciphertext, nonce, tag or AAD that does not verify, or a version
    /// the key never had, is <see cref="KmsError.InvalidCiphertext"/>. Audited as "ExternalDecrypt"; the plaintext is
    /// returned only once the record is durable. The caller owns (and should zero) it.
    /// </summary>
    public async Task<byte[]> DecryptExternalAsync(string keyRef, int keyVersion, ReadOnlyMemory<byte> nonce, ReadOnlyMemory<byte> ciphertext,
        ReadOnlyMemory<byte> tag, ReadOnlyMemory<byte> associatedData, string principal, string? auditContext)
    {
        var target = new Target(keyRef) { Version = keyVersion };
        return await AuditedAsync("ExternalDecrypt", principal, target, new AuditNote(auditContext), () =>
        {
            var cached = Resolve(keyRef);
            target.Set(cached.Key);
            return DecryptExternalCore(cached, keyVersion, nonce.Span, ciphertext.Span, tag.Span, associatedData.Span);
        }, plaintext => plaintext).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether a ciphertext just made by <see cref="EncryptExternalAsync"/> decrypts back to <paramref name="plaintext"/>:
    /// the test decryption a protocol runs before it vouches for its answer (the XKS integrity value). Releases nothing
    /// but a yes or no about a ciphertext the caller already holds with its plaintext, so it writes no audit record
    /// (the encryption it checks has one).
    /// </summary>
    public bool VerifyExternal(ExternalCiphertext made, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        byte[] decrypted;
        try
        {
            decrypted = DecryptExternalCore(Resolve(made.KeyId), made.KeyVersion, made.Nonce, made.Ciphertext, made.Tag, associatedData);
        }
        catch (KmsException e) when (e.Error == KmsError.InvalidCiphertext)
        {
            return false;
        }
        try
        {
            return CryptographicOperations.FixedTimeEquals(decrypted, plaintext);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(decrypted);
        }
    }

    /// <summary>
    /// The key's state for a protocol's key-metadata call (AWS XKS GetKeyMetadata), audited as "ExternalDescribeKey" with
    /// <paramref name="auditContext"/>. A disabled or destroyed key is answered, not refused: telling the provider the
    /// key is unusable is the point of the call. An RSA key is refused (<see cref="KmsError.InvalidKeyUsage"/>): the
    /// external operations are AES-256-GCM.
    /// </summary>
    public async Task<ExternalKeyStatus> DescribeExternalKeyAsync(string keyRef, string principal, string? auditContext)
    {
        var target = new Target(keyRef);
        return await AuditedAsync("ExternalDescribeKey", principal, target, new AuditNote(auditContext), () =>
        {
            var key = Resolve(keyRef).Key;
            target.Set(key);
            CheckSymmetric(key);
            return new ExternalKeyStatus(key.Id, key.Name, key.State, key.PrimaryVersion);
        }).ConfigureAwait(false);
    }

    /// <summary>The state of a key, or null when there is none: a metadata read for health checks, which release nothing
    /// and come every few seconds, so it is not audited (like <see cref="TryPrimaryVersion"/>).</summary>
    public KeyState? TryKeyState(string keyRef) => TryResolveKeyId(keyRef) is { } id ? Resolve(id).Key.State : null;

    /// <summary>The spec and usage of a key, or null when there is none: metadata for the start-up check that each face is
    /// configured with keys it can serve, unaudited like <see cref="TryKeyState"/> (it releases nothing, and runs sealed too).</summary>
    public (KeySpec Spec, KeyUsage Usage)? TryKeySpec(string keyRef) => TryResolveKeyId(keyRef) is { } id ? (Resolve(id).Key.Spec, Resolve(id).Key.Usage) : null;

    private byte[] DecryptExternalCore(CachedKey cached, int keyVersion, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext,
        ReadOnlySpan<byte> tag, ReadOnlySpan<byte> associatedData)
    {
        // A version the key never had was named by an altered ciphertext, not by a key in the wrong state.
        if (!cached.Versions.Any(v => v.Version == keyVersion))
            throw CiphertextBlob.Invalid("it names a key version that does not exist");
        CheckDecryptionVersion(cached, keyVersion);
        if (nonce.Length != ExternalNonceSize || tag.Length != ExternalTagSize)
            throw CiphertextBlob.Invalid($"Coffre makes {ExternalNonceSize}-byte nonces and {ExternalTagSize}-byte tags ({nonce.Length} and {tag.Length} given)");
        var plaintext = GC.AllocateArray<byte>(ciphertext.Length, pinned: true);
        using var kek = Material(cached, keyVersion);
        using var gcm = new AesGcm(kek.Bytes, ExternalTagSize);
        try
        {
            gcm.Decrypt(nonce, ciphertext, tag, plaintext, associatedData);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new KmsException(KmsError.InvalidCiphertext,
                $"The ciphertext does not verify under key '{cached.Key.Name}' version {keyVersion}: it, its nonce, its tag or the associated data was modified.");
        }
        return plaintext;
    }
}
