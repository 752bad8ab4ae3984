using System.Buffers.Binary;
using System.Security.Cryptography;
using Coffre.Kms.Store;

namespace Coffre.Kms.Keys;

/// <summary>The public half of one version of an RSA key, as DER SubjectPublicKeyInfo (RFC 5280).</summary>
public sealed record PublicKeyInfo(string KeyId, string KeyName, int KeyVersion, KeySpec Spec, KeyUsage Usage, byte[] SubjectPublicKeyInfo);

/// <summary>An RSA signature and the key version that made it.</summary>
public sealed record SignResult(string KeyId, int KeyVersion, byte[] Signature);

/// <summary>An RSA-OAEP ciphertext and the key version whose public key made it.</summary>
public sealed record AsymmetricCiphertext(string KeyId, int KeyVersion, byte[] Ciphertext);

// RSA keys (docs/kms-api.md, docs/format.md §6.2): each version holds its own key pair, generated here, whose private key
// is sealed like symmetric material (a root-wrapped version key) and never leaves Coffre; rotation adds a key pair. The
// private key is unsealed into a pinned KeyMaterial like a symmetric version's 32 bytes, and imported into an RSA object
// for one operation only, so sealing and key-state changes retire it the same way.
public sealed partial class KeyManager
{
    /// <summary>The longest message Sign and Verify take as RAW (AWS KMS's limit); longer ones are hashed by the caller.</summary>
    public const int MaxSignedMessage = 4096;

    private const int PrivateKeyNonceSize = 12;
    private const int PrivateKeyTagSize = 16;

    /// <summary>Synchronous form of <see cref="GetPublicKeyAsync"/> for the CLI and tests.</summary>
    public PublicKeyInfo GetPublicKey(string keyRef, string principal, string? auditContext = null) => Wait(GetPublicKeyAsync(keyRef, principal, auditContext));

    /// <summary>
    /// The public key of the primary version of an RSA key (enabled), derived from its sealed private key, so a
    /// public key stored apart could never be swapped for another. Audited as "GetPublicKey" with <paramref name="auditContext"/>.
    /// A symmetric key has none: <see cref="KmsError.UnsupportedOperation"/>.
    /// </summary>
    public async Task<PublicKeyInfo> GetPublicKeyAsync(string keyRef, string principal, string? auditContext = null)
    {
        var target = new Target(keyRef);
        return await AuditedAsync("GetPublicKey", principal, target, new AuditNote(auditContext), () =>
        {
            var cached = Resolve(keyRef);
            target.Set(cached.Key);
            if (!cached.Key.Spec.IsRsa())
                throw new KmsException(KmsError.UnsupportedOperation, $"Key '{cached.Key.Name}' is symmetric: it has no public key.");
            var version = PrimaryVersion(cached);
            target.Version = version;
            using var rsa = PrivateKey(cached, version);
            return new PublicKeyInfo(cached.Key.Id, cached.Key.Name, version, cached.Key.Spec, cached.Key.Usage, rsa.ExportSubjectPublicKeyInfo());
        }).ConfigureAwait(false);
    }

    /// <summary>Synchronous form of <see cref="SignAsync"/> for the CLI and tests.</summary>
    public SignResult Sign(string keyRef, ReadOnlyMemory<byte> message, bool isDigest, SigningAlgorithm algorithm, string principal, string? auditContext = null) =>
        Wait(SignAsync(keyRef, message, isDigest, algorithm, principal, auditContext));

    /// <summary>
    /// Signs a message (at most <see cref="MaxSignedMessage"/> bytes, hashed here) or the digest of one (exactly the
    /// algorithm's hash size) with the primary version of a SIGN_VERIFY RSA key. Audited as "Sign"; answered once the
    /// record is durable.
    /// </summary>
    public async Task<SignResult> SignAsync(string keyRef, ReadOnlyMemory<byte> message, bool isDigest, SigningAlgorithm algorithm,
        string principal, string? auditContext = null)
    {
        var target = new Target(keyRef);
        return await AuditedAsync("Sign", principal, target, new AuditNote(auditContext), () =>
        {
            CheckMessage(message.Length, isDigest, algorithm);
            var cached = Resolve(keyRef);
            target.Set(cached.Key);
            CheckAsymmetric(cached.Key, KeyUsage.SignVerify);
            var version = PrimaryVersion(cached);
            target.Version = version;
            using var rsa = PrivateKey(cached, version);
            var signature = isDigest
                ? rsa.SignHash(message.Span, algorithm.Hash(), algorithm.Padding())
                : rsa.SignData(message.Span, algorithm.Hash(), algorithm.Padding());
            return new SignResult(cached.Key.Id, version, signature);
        }).ConfigureAwait(false);
    }

    /// <summary>Synchronous form of <see cref="VerifyAsync"/> for the CLI and tests.</summary>
    public (string KeyId, int KeyVersion) Verify(string keyRef, ReadOnlyMemory<byte> message, bool isDigest, SigningAlgorithm algorithm, ReadOnlyMemory<byte> signature,
        string principal, string? auditContext = null) => Wait(VerifyAsync(keyRef, message, isDigest, algorithm, signature, principal, auditContext));

    /// <summary>
    /// Verifies a signature with the key's versions that may still be used (enabled, at least the minimum decryption
    /// version), the primary first, so a signature made before a rotation still verifies. Returns the key's id and the
    /// version that verifies; a signature none verifies is <see cref="KmsError.InvalidSignature"/>. Audited as "Verify".
    /// </summary>
    public async Task<(string KeyId, int KeyVersion)> VerifyAsync(string keyRef, ReadOnlyMemory<byte> message, bool isDigest, SigningAlgorithm algorithm,
        ReadOnlyMemory<byte> signature, string principal, string? auditContext = null)
    {
        var target = new Target(keyRef);
        return await AuditedAsync("Verify", principal, target, new AuditNote(auditContext), () =>
        {
            CheckMessage(message.Length, isDigest, algorithm);
            var cached = Resolve(keyRef);
            target.Set(cached.Key);
            CheckAsymmetric(cached.Key, KeyUsage.SignVerify);
            foreach (var version in UsableVersions(cached))
            {
                using var rsa = PrivateKey(cached, version);
                var valid = isDigest
                    ? rsa.VerifyHash(message.Span, signature.Span, algorithm.Hash(), algorithm.Padding())
                    : rsa.VerifyData(message.Span, signature.Span, algorithm.Hash(), algorithm.Padding());
                if (!valid) continue;
                target.Version = version;
                return (cached.Key.Id, version);
            }
            throw new KmsException(KmsError.InvalidSignature,
                $"The signature does not verify under any usable version of key '{cached.Key.Name}' with {algorithm.Name()}: the message, the signature or the algorithm differs from what was signed.");
        }).ConfigureAwait(false);
    }

    /// <summary>Synchronous form of <see cref="EncryptAsymmetricAsync"/> for the CLI and tests.</summary>
    public AsymmetricCiphertext EncryptAsymmetric(string keyRef, ReadOnlyMemory<byte> plaintext, AsymmetricEncryption algorithm, string principal,
        string? auditContext = null) => Wait(EncryptAsymmetricAsync(keyRef, plaintext, algorithm, principal, auditContext));

    /// <summary>
    /// RSA-OAEP encryption with the public key of the primary version of an ENCRYPT_DECRYPT RSA key (what anyone holding
    /// the public key can do too; done here for callers who would rather not, and audited as "Encrypt" like the rest).
    /// </summary>
    public async Task<AsymmetricCiphertext> EncryptAsymmetricAsync(string keyRef, ReadOnlyMemory<byte> plaintext, AsymmetricEncryption algorithm,
        string principal, string? auditContext = null)
    {
        var target = new Target(keyRef);
        return await AuditedAsync("Encrypt", principal, target, new AuditNote(auditContext), () =>
        {
            var cached = Resolve(keyRef);
            target.Set(cached.Key);
            CheckAsymmetric(cached.Key, KeyUsage.EncryptDecrypt);
            var max = algorithm.MaxPlaintext(cached.Key.Spec.RsaBits());
            if (plaintext.Length is 0 || plaintext.Length > max)
                throw new KmsException(KmsError.InvalidArgument,
                    $"{algorithm.Name()} under key '{cached.Key.Name}' ({StoredNames.Text(cached.Key.Spec)}) encrypts 1 to {max} bytes ({plaintext.Length} given).");
            var version = PrimaryVersion(cached);
            target.Version = version;
            using var rsa = PrivateKey(cached, version);
            return new AsymmetricCiphertext(cached.Key.Id, version, rsa.Encrypt(plaintext.Span, algorithm.Padding()));
        }).ConfigureAwait(false);
    }

    /// <summary>Synchronous form of <see cref="DecryptAsymmetricAsync"/> for the CLI and tests.</summary>
    public DecryptResult DecryptAsymmetric(string keyRef, int? keyVersion, ReadOnlyMemory<byte> ciphertext, AsymmetricEncryption algorithm,
        string principal, string? auditContext = null) => Wait(DecryptAsymmetricAsync(keyRef, keyVersion, ciphertext, algorithm, principal, auditContext));

    /// <summary>
    /// RSA-OAEP decryption with the private key of <paramref name="keyVersion"/> (a protocol that names the version, as
    /// Microsoft DKE's key id does), or, when null, with each usable version, the primary first: an AWS KMS ciphertext
    /// names no version, and OAEP's padding check tells a wrong key. A ciphertext no usable version opens is
    /// <see cref="KmsError.InvalidCiphertext"/>. Audited as "Decrypt"; the plaintext is returned once the record is durable,
    /// and the caller owns (and should zero) it.
    /// </summary>
    public async Task<DecryptResult> DecryptAsymmetricAsync(string keyRef, int? keyVersion, ReadOnlyMemory<byte> ciphertext,
        AsymmetricEncryption algorithm, string principal, string? auditContext = null)
    {
        var target = new Target(keyRef) { Version = keyVersion };
        return await AuditedAsync("Decrypt", principal, target, new AuditNote(auditContext), () =>
        {
            var cached = Resolve(keyRef);
            target.Set(cached.Key);
            CheckAsymmetric(cached.Key, KeyUsage.EncryptDecrypt);
            if (keyVersion is { } named)
            {
                if (!cached.Versions.Any(v => v.Version == named))
                    throw new KmsException(KmsError.NotFound, $"Key '{cached.Key.Name}' has no version {named}.");
                CheckVersionUsable(cached, named);
            }
            foreach (var version in keyVersion is { } v ? [v] : UsableVersions(cached))
            {
                using var rsa = PrivateKey(cached, version);
                if (!TryDecrypt(rsa, ciphertext.Span, algorithm, out var plaintext)) continue;
                target.Version = version;
                return new DecryptResult(cached.Key.Id, version, plaintext);
            }
            throw new KmsException(KmsError.InvalidCiphertext,
                $"The ciphertext does not decrypt with {algorithm.Name()} under {(keyVersion is { } n ? $"version {n} of" : "any usable version of")} key '{cached.Key.Name}': it was made with another key, algorithm or version, or altered.");
        }, opened => opened.Plaintext).ConfigureAwait(false);
    }

    private static bool TryDecrypt(RSA rsa, ReadOnlySpan<byte> ciphertext, AsymmetricEncryption algorithm, out byte[] plaintext)
    {
        // OAEP's decoding check fails for a ciphertext of another key or algorithm; .NET reports every such failure,
        // and a ciphertext of the wrong length, as CryptographicException without saying which (no padding oracle).
        try
        {
            plaintext = rsa.Decrypt(ciphertext.ToArray(), algorithm.Padding());
            return true;
        }
        catch (CryptographicException)
        {
            plaintext = [];
            return false;
        }
    }

    /// <summary>Versions that may decrypt or verify, the primary first, then the newest first.</summary>
    private static IEnumerable<int> UsableVersions(CachedKey cached)
    {
        CheckUsable(cached.Key);
        var usable = cached.Versions
            .Where(v => v.State == KeyVersionState.Enabled && v.Version >= cached.Key.MinimumDecryptionVersion)
            .OrderByDescending(v => v.Version == cached.Key.PrimaryVersion).ThenByDescending(v => v.Version)
            .Select(v => v.Version).ToList();
        if (usable.Count == 0)
            throw new KmsException(KmsError.VersionNotUsable, $"Key '{cached.Key.Name}' has no enabled version at or above its minimum decryption version.");
        return usable;
    }

    private static void CheckMessage(int length, bool isDigest, SigningAlgorithm algorithm)
    {
        if (isDigest && length != algorithm.DigestBytes())
            throw new KmsException(KmsError.InvalidArgument,
                $"A DIGEST message for {algorithm.Name()} is a {algorithm.DigestBytes()}-byte hash ({length} bytes given).");
        if (length is 0 || length > MaxSignedMessage)
            throw new KmsException(KmsError.InvalidArgument, $"A message to sign or verify is 1 to {MaxSignedMessage} bytes ({length} given); send a DIGEST of a longer one.");
    }

    private static void CheckAsymmetric(KeyRecord key, KeyUsage usage)
    {
        if (!key.Spec.IsRsa())
            throw new KmsException(KmsError.InvalidKeyUsage, $"Key '{key.Name}' is symmetric ({StoredNames.Text(key.Spec)}); this operation needs an RSA key with usage {StoredNames.Text(usage)}.");
        if (key.Usage != usage)
            throw new KmsException(KmsError.InvalidKeyUsage, $"Key '{key.Name}' is an {StoredNames.Text(key.Spec)} key for {StoredNames.Text(key.Usage)}, not {StoredNames.Text(usage)}.");
    }

    /// <summary>Refuses a symmetric operation (data keys, AES encryption, external AES) on an RSA key.</summary>
    private static void CheckSymmetric(KeyRecord key)
    {
        if (key.Spec.IsRsa())
            throw new KmsException(KmsError.InvalidKeyUsage,
                $"Key '{key.Name}' is an {StoredNames.Text(key.Spec)} key for {StoredNames.Text(key.Usage)}; data keys and symmetric encryption need a {StoredNames.Text(KeySpec.SymmetricDefault)} key.");
    }

    private static void CheckSpecAndUsage(KeySpec spec, KeyUsage usage)
    {
        if (!Enum.IsDefined(spec) || !Enum.IsDefined(usage))
            throw new KmsException(KmsError.InvalidArgument, "Unknown key spec or key usage.");
        if (!spec.IsRsa() && usage != KeyUsage.EncryptDecrypt)
            throw new KmsException(KmsError.InvalidArgument,
                $"A {StoredNames.Text(spec)} key is for {StoredNames.Text(KeyUsage.EncryptDecrypt)}; signing needs an RSA key spec ({string.Join(", ", KeySpecs.Names.Skip(1))}).");
    }

    /// <summary>The private key of a version, imported for one operation; dispose it when done.</summary>
    private RSA PrivateKey(CachedKey cached, int version)
    {
        using var lease = Material(cached, version);
        var rsa = RSA.Create();
        try
        {
            rsa.ImportPkcs8PrivateKey(lease.Bytes, out _);
            return rsa;
        }
        catch
        {
            rsa.Dispose();
            throw;
        }
    }

    // ---- sealing of private keys (docs/format.md §6.2) ------------------------------------------
    //
    // The root of trust wraps 32 bytes only (an HSM's wrap is sized for them), so a version of an RSA key holds a random
    // 32-byte version key wrapped by the root exactly as a symmetric version's material is (same AAD), and its PKCS #8
    // private key encrypted under that version key with AES-256-GCM:
    //   u16be(n) || root-wrapped version key (n bytes) || nonce (12) || AES-256-GCM(PKCS #8) || tag (16)
    // with AAD "coffre/v1/rsa-private-key" || the version's KEK AAD, so a sealed key cannot be moved to another key or version.

    private byte[] NewSealedKeyPair(KeyRecord key, int version)
    {
        using var rsa = RSA.Create(key.Spec.RsaBits());
        var pkcs8 = rsa.ExportPkcs8PrivateKey();
        var versionKey = GC.AllocateArray<byte>(32, pinned: true);
        try
        {
            RandomNumberGenerator.Fill(versionKey);
            var wrapped = WrapWithRoot(versionKey, KekAad(key.Id, version));
            var sealedKey = new byte[2 + wrapped.Length + PrivateKeyNonceSize + pkcs8.Length + PrivateKeyTagSize];
            var span = sealedKey.AsSpan();
            BinaryPrimitives.WriteUInt16BigEndian(span, checked((ushort)wrapped.Length));
            wrapped.CopyTo(span[2..]);
            var nonce = span.Slice(2 + wrapped.Length, PrivateKeyNonceSize);
            RandomNumberGenerator.Fill(nonce);
            using var gcm = new AesGcm(versionKey, PrivateKeyTagSize);
            gcm.Encrypt(nonce, pkcs8, span.Slice(2 + wrapped.Length + PrivateKeyNonceSize, pkcs8.Length), span[^PrivateKeyTagSize..],
                PrivateKeyAad(key.Id, version));
            return sealedKey;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(versionKey);
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    /// <summary>The PKCS #8 private key of a sealed version, in a pinned array the caller zeroes.</summary>
    private byte[] UnsealPrivateKey(string keyId, int version, byte[] sealedKey)
    {
        var minimum = 2 + PrivateKeyNonceSize + PrivateKeyTagSize;
        var n = sealedKey.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(sealedKey) : 0;
        if (sealedKey.Length < minimum + n + 1)
            throw new KmsException(KmsError.InvalidCiphertext, $"The sealed private key of version {version} of key {keyId} is truncated; the key store was damaged.");
        var span = sealedKey.AsSpan();
        var versionKey = GC.AllocateArray<byte>(32, pinned: true);
        var pkcs8 = GC.AllocateArray<byte>(sealedKey.Length - minimum - n, pinned: true);
        try
        {
            UnwrapWithRoot(span.Slice(2, n), KekAad(keyId, version), versionKey);
            using var gcm = new AesGcm(versionKey, PrivateKeyTagSize);
            gcm.Decrypt(span.Slice(2 + n, PrivateKeyNonceSize), span.Slice(2 + n + PrivateKeyNonceSize, pkcs8.Length), span[^PrivateKeyTagSize..],
                pkcs8, PrivateKeyAad(keyId, version));
            return pkcs8;
        }
        catch (AuthenticationTagMismatchException)
        {
            CryptographicOperations.ZeroMemory(pkcs8);
            throw new KmsException(KmsError.InvalidCiphertext, $"The sealed private key of version {version} of key {keyId} does not verify; the key store was damaged or altered.");
        }
        catch
        {
            CryptographicOperations.ZeroMemory(pkcs8);
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(versionKey);
        }
    }

    private byte[] PrivateKeyAad(string keyId, int version) => [.. "coffre/v1/rsa-private-key"u8, .. KekAad(keyId, version)];
}
