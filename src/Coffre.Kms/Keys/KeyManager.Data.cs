using System.Security.Cryptography;
using Coffre.Crypto;
using Coffre.Kms.Audit;

namespace Coffre.Kms.Keys;

/// <summary>Plaintext recovered by <see cref="KeyManager.Decrypt"/> and the key version that protected it.</summary>
public sealed record DecryptResult(string KeyId, int KeyVersion, byte[] Plaintext)
{
    public override string ToString() => $"DecryptResult({KeyId} v{KeyVersion}, {Plaintext.Length} bytes)";
}

/// <summary>A data key from <see cref="KeyManager.GenerateDataKeyCiphertext"/>: plaintext and its §7 ciphertext.</summary>
public sealed record EncryptedDataKey(string KeyId, int KeyVersion, byte[] Plaintext, byte[] CiphertextBlob)
{
    public override string ToString() => $"EncryptedDataKey({KeyId} v{KeyVersion}, {Plaintext.Length} bytes)";
}

public sealed partial class KeyManager
{
    /// <summary>Generates a random 32-byte data key and wraps it under the key's primary version,
    /// bound to <paramref name="context"/> (docs/format.md §3).</summary>
    public DataKey GenerateDataKey(string keyRef, IReadOnlyDictionary<string, string>? context, string principal)
    {
        var pending = GenerateDataKeyAuditPending(keyRef, context, principal);
        try
        {
            Wait(pending.Recorded);
        }
        catch
        {
            pending.Value.Dispose();
            throw;
        }
        return pending.Value;
    }

    /// <summary>
    /// <see cref="GenerateDataKey"/> that returns once its audit record is queued instead of committed:
    /// <see cref="AuditPending{T}.Recorded"/> completes when the record is durable, or faults with
    /// <see cref="KmsError.AuditUnavailable"/>. For callers with durable work of their own to do with the key
    /// (the gateway encrypts and stores an object body meanwhile), so that the two commits overlap instead of
    /// adding up. The caller must await <c>Recorded</c> before it answers or commits anything made with the key
    /// (no audit, no answer), and dispose the key if it faults.
    /// </summary>
    /// <param name="recorded">Audit-only members, as for <see cref="EncryptAsync"/> (the face's name).</param>
    public AuditPending<DataKey> GenerateDataKeyAuditPending(string keyRef, IReadOnlyDictionary<string, string>? context, string principal,
        IReadOnlyDictionary<string, string>? recorded = null)
    {
        const string op = "GenerateDataKey";
        var target = new Target(keyRef);
        string? json = null;
        DataKey key;
        try
        {
            CheckPrincipal(principal);
            EncryptionContext.Check(context);
            json = EncryptionContext.Json(context, recorded);
            var cached = Resolve(keyRef);
            target.Set(cached.Key);
            var version = EncryptionVersion(cached);
            target.Version = version;
            using var kek = Material(cached, version);
            var dek = GC.AllocateArray<byte>(KeyWrap.KeySize, pinned: true);
            RandomNumberGenerator.Fill(dek);
            key = new DataKey(dek, new WrappedDataKey(cached.Key.Id, version, KeyWrap.Wrap(kek.Bytes, dek, cached.Key.Id, version, EncryptionContext.Canonical(context))));
        }
        catch (KmsException e) when (e.Error != KmsError.AuditUnavailable) { throw Refused(op, principal, target, json, e); }
        try
        {
            return new AuditPending<DataKey>(key, _audit.AppendAsync(Entry(op, principal, target, json, null, Ok)));
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Generates <paramref name="numberOfBytes"/> random bytes (1..1024) and encrypts them under the key's
    /// primary version as a self-describing ciphertext (docs/format.md §7), so that <see cref="Decrypt"/> recovers
    /// them: AWS KMS GenerateDataKey semantics. Audited as <paramref name="operation"/> (GenerateDataKey or
    /// GenerateDataKeyWithoutPlaintext). The caller owns (and should zero) the plaintext.</summary>
    public EncryptedDataKey GenerateDataKeyCiphertext(string keyRef, int numberOfBytes, IReadOnlyDictionary<string, string>? context,
        string principal, string operation = "GenerateDataKey") =>
        Wait(GenerateDataKeyCiphertextAsync(keyRef, numberOfBytes, context, principal, operation));

    /// <summary><see cref="GenerateDataKeyCiphertext"/> without holding a thread while the audit record is committed.</summary>
    /// <param name="recorded">Audit-only members, as for <see cref="EncryptAsync"/>.</param>
    public async Task<EncryptedDataKey> GenerateDataKeyCiphertextAsync(string keyRef, int numberOfBytes, IReadOnlyDictionary<string, string>? context,
        string principal, string operation = "GenerateDataKey", IReadOnlyDictionary<string, string>? recorded = null)
    {
        var target = new Target(keyRef);
        var record = new AuditNote();
        return await AuditedAsync(operation, principal, target, record, () =>
        {
            EncryptionContext.Check(context);
            record.Context = EncryptionContext.Json(context, recorded);
            if (numberOfBytes is < 1 or > 1024)
                throw new KmsException(KmsError.InvalidArgument, $"A data key is 1 to 1024 bytes ({numberOfBytes} asked).");
            var cached = Resolve(keyRef);
            target.Set(cached.Key);
            var version = EncryptionVersion(cached);
            target.Version = version;
            var dek = GC.AllocateArray<byte>(numberOfBytes, pinned: true);
            RandomNumberGenerator.Fill(dek);
            return new EncryptedDataKey(cached.Key.Id, version, dek, EncryptCore(cached, version, dek, context));
        }, made => made.Plaintext).ConfigureAwait(false);
    }

    /// <summary>Synchronous form of <see cref="GenerateRandomAsync"/> for the CLI and tests; request paths await <see cref="GenerateRandomAsync"/>.</summary>
    public byte[] GenerateRandom(int numberOfBytes, string principal) => Wait(GenerateRandomAsync(numberOfBytes, principal));

    /// <summary>Random bytes from the key manager's generator (1..1024), audited like every other answer.</summary>
    /// <param name="recorded">Audit-only members recorded beside the size asked (the face's name).</param>
    public async Task<byte[]> GenerateRandomAsync(int numberOfBytes, string principal, IReadOnlyDictionary<string, string>? recorded = null)
    {
        var record = new AuditNote(Json([("bytes", numberOfBytes), .. (recorded ?? EmptyRecorded).Select(m => (m.Key, (object?)m.Value))]));
        return await AuditedAsync("GenerateRandom", principal, new Target(null), record, () =>
        {
            if (numberOfBytes is < 1 or > 1024)
                throw new KmsException(KmsError.InvalidArgument, $"GenerateRandom returns 1 to 1024 bytes ({numberOfBytes} asked).");
            return RandomNumberGenerator.GetBytes(numberOfBytes);
        }).ConfigureAwait(false);
    }

    private static readonly Dictionary<string, string> EmptyRecorded = [];

    /// <summary>Unwraps a data key with the version it names (enabled, ≥ the minimum decryption version).
    /// The caller owns (and should zero) the returned 32 bytes.</summary>
    public byte[] UnwrapDataKey(WrappedDataKey wrapped, IReadOnlyDictionary<string, string>? context, string principal) =>
        Wait(UnwrapDataKeyAsync(wrapped, context, principal));

    /// <summary><see cref="UnwrapDataKey"/> without holding a thread while the audit record is committed
    /// (a thread blocked on the commit cannot serve other requests meanwhile).</summary>
    /// <param name="recorded">Audit-only members, as for <see cref="EncryptAsync"/>.</param>
    public async Task<byte[]> UnwrapDataKeyAsync(WrappedDataKey wrapped, IReadOnlyDictionary<string, string>? context, string principal,
        IReadOnlyDictionary<string, string>? recorded = null)
    {
        var target = new Target(wrapped?.KeyId);
        var record = new AuditNote();
        return await AuditedAsync("UnwrapDataKey", principal, target, record, () =>
        {
            CheckWrapped(wrapped);
            EncryptionContext.Check(context);
            record.Context = EncryptionContext.Json(context, recorded);
            target.Version = wrapped!.KeyVersion;
            return UnwrapCore(wrapped, context, target);
        }, dek => dek).ConfigureAwait(false);
    }

    /// <summary>Synchronous form of <see cref="RewrapDataKeyAsync"/> for the CLI and tests; request paths await <see cref="RewrapDataKeyAsync"/>.</summary>
    public WrappedDataKey RewrapDataKey(WrappedDataKey wrapped, IReadOnlyDictionary<string, string>? context, string principal) => Wait(RewrapDataKeyAsync(wrapped, context, principal));

    /// <summary>Re-wraps a data key under the key's current primary version (metadata-only rotation).</summary>
    public async Task<WrappedDataKey> RewrapDataKeyAsync(WrappedDataKey wrapped, IReadOnlyDictionary<string, string>? context, string principal)
    {
        const string op = "RewrapDataKey";
        var target = new Target(wrapped?.KeyId);
        string? json = null;
        try
        {
            CheckPrincipal(principal);
            CheckWrapped(wrapped);
            EncryptionContext.Check(context);
            json = EncryptionContext.Json(context);
            target.Version = wrapped!.KeyVersion;
            var dek = UnwrapCore(wrapped, context, target);
            try
            {
                var cached = Resolve(wrapped.KeyId);
                var version = EncryptionVersion(cached);
                byte[] blob;
                using (var kek = Material(cached, version))
                    blob = KeyWrap.Wrap(kek.Bytes, dek, cached.Key.Id, version, EncryptionContext.Canonical(context));
                var to = new Target(null) { KeyId = target.KeyId, KeyName = target.KeyName, Version = version };
                await _audit.AppendAsync(Entry(op + ".Unwrap", principal, target, json, null, Ok), Entry(op + ".Wrap", principal, to, json, null, Ok)).ConfigureAwait(false);
                return new WrappedDataKey(cached.Key.Id, version, blob);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(dek);
            }
        }
        catch (KmsException e) when (e.Error != KmsError.AuditUnavailable) { throw await RefusedAsync(op, principal, target, json, e).ConfigureAwait(false); }
    }

    /// <summary>Encrypts up to 4096 bytes directly under the key's primary version; returns the
    /// self-describing ciphertext of docs/format.md §7.</summary>
    public byte[] Encrypt(string keyRef, ReadOnlySpan<byte> plaintext, IReadOnlyDictionary<string, string>? context, string principal)
    {
        var copy = plaintext.ToArray();
        try
        {
            return Wait(EncryptAsync(keyRef, copy, context, principal));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(copy);
        }
    }

    /// <summary><see cref="Encrypt"/> without holding a thread while the audit record is committed.</summary>
    /// <param name="recorded">Members recorded in the audit record beside the context but not bound to the ciphertext (a face's
    /// name and request details: <see cref="EncryptionContext.Json(IReadOnlyDictionary{string, string}?, IReadOnlyDictionary{string, string}?)"/>).</param>
    public async Task<byte[]> EncryptAsync(string keyRef, ReadOnlyMemory<byte> plaintext, IReadOnlyDictionary<string, string>? context, string principal,
        IReadOnlyDictionary<string, string>? recorded = null)
    {
        var target = new Target(keyRef);
        var record = new AuditNote();
        return await AuditedAsync("Encrypt", principal, target, record, () =>
        {
            EncryptionContext.Check(context);
            record.Context = EncryptionContext.Json(context, recorded);
            if (plaintext.Length > CiphertextBlob.MaxPlaintext)
                throw new KmsException(KmsError.InvalidArgument,
                    $"Encrypt takes at most {CiphertextBlob.MaxPlaintext} bytes ({plaintext.Length} given); encrypt larger data with a data key.");
            var cached = Resolve(keyRef);
            target.Set(cached.Key);
            var version = EncryptionVersion(cached);
            target.Version = version;
            return EncryptCore(cached, version, plaintext.Span, context);
        }).ConfigureAwait(false);
    }

    /// <summary>Decrypts a ciphertext from <see cref="Encrypt"/>; the key and version come from the blob.</summary>
    /// <param name="expectedKeyRef">When given (id, name or alias), the blob must name that key, else IncorrectKey.</param>
    public DecryptResult Decrypt(ReadOnlySpan<byte> ciphertext, IReadOnlyDictionary<string, string>? context, string principal, string? expectedKeyRef = null) =>
        Wait(DecryptAsync(ciphertext.ToArray(), context, principal, expectedKeyRef));

    /// <summary><see cref="Decrypt"/> without holding a thread while the audit record is committed.</summary>
    /// <param name="recorded">As for <see cref="EncryptAsync"/>: audit-only members.</param>
    public async Task<DecryptResult> DecryptAsync(ReadOnlyMemory<byte> ciphertext, IReadOnlyDictionary<string, string>? context, string principal,
        string? expectedKeyRef = null, IReadOnlyDictionary<string, string>? recorded = null)
    {
        var target = new Target(null);
        var record = new AuditNote();
        return await AuditedAsync("Decrypt", principal, target, record, () =>
        {
            EncryptionContext.Check(context);
            record.Context = EncryptionContext.Json(context, recorded);
            var plaintext = DecryptCore(ciphertext.Span, context, target, expectedKeyRef);
            return new DecryptResult(target.KeyId!, target.Version!.Value, plaintext);
        }, opened => opened.Plaintext).ConfigureAwait(false);
    }

    /// <summary>Decrypts and encrypts again under <paramref name="destinationKeyRef"/>'s primary version
    /// (the plaintext never leaves the key manager).</summary>
    public byte[] ReEncrypt(ReadOnlySpan<byte> ciphertext, IReadOnlyDictionary<string, string>? sourceContext,
        string destinationKeyRef, IReadOnlyDictionary<string, string>? destinationContext, string principal, string? expectedSourceKeyRef = null) =>
        Wait(ReEncryptAsync(ciphertext.ToArray(), sourceContext, destinationKeyRef, destinationContext, principal, expectedSourceKeyRef));

    /// <summary><see cref="ReEncrypt"/> without holding a thread while the audit records are committed.</summary>
    /// <param name="recorded">Audit-only members of both records, as for <see cref="EncryptAsync"/>.</param>
    public async Task<byte[]> ReEncryptAsync(ReadOnlyMemory<byte> ciphertext, IReadOnlyDictionary<string, string>? sourceContext,
        string destinationKeyRef, IReadOnlyDictionary<string, string>? destinationContext, string principal, string? expectedSourceKeyRef = null,
        IReadOnlyDictionary<string, string>? recorded = null)
    {
        const string op = "ReEncrypt";
        var source = new Target(null);
        var destination = new Target(destinationKeyRef);
        string? json = null;
        try
        {
            CheckPrincipal(principal);
            EncryptionContext.Check(sourceContext);
            EncryptionContext.Check(destinationContext);
            json = EncryptionContext.Json(sourceContext, recorded);
            var destinationJson = EncryptionContext.Json(destinationContext, recorded);
            var plaintext = DecryptCore(ciphertext.Span, sourceContext, source, expectedSourceKeyRef);
            try
            {
                var cached = Resolve(destinationKeyRef);
                destination.Set(cached.Key);
                var version = EncryptionVersion(cached);
                destination.Version = version;
                var blob = EncryptCore(cached, version, plaintext, destinationContext);
                await _audit.AppendAsync(Entry(op + ".Decrypt", principal, source, json, null, Ok),
                    Entry(op + ".Encrypt", principal, destination, destinationJson, null, Ok)).ConfigureAwait(false);
                return blob;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }
        }
        catch (KmsException e) when (e.Error != KmsError.AuditUnavailable)
        {
            throw await RefusedAsync(op, principal, source.KeyId is null || destination.KeyId is not null ? destination : source, json, e).ConfigureAwait(false);
        }
    }

    /// <summary>Waits for the record of an answer that releases <paramref name="secret"/>; if it cannot be
    /// written, erases the secret before the failure goes up (no audit, no answer).</summary>
    private async Task RecordOrErase(AuditEntry entry, byte[] secret)
    {
        try
        {
            await _audit.AppendAsync(entry).ConfigureAwait(false);
        }
        catch
        {
            CryptographicOperations.ZeroMemory(secret);
            throw;
        }
    }

    // ---- cores --------------------------------------------------------------------------------

    private static void CheckWrapped(WrappedDataKey? wrapped)
    {
        if (wrapped is null || wrapped.KeyId is null || wrapped.Blob is null)
            throw new KmsException(KmsError.InvalidArgument, "A wrapped data key (key id, version and blob) is required.");
    }

    private byte[] UnwrapCore(WrappedDataKey wrapped, IReadOnlyDictionary<string, string>? context, Target target)
    {
        var cached = Resolve(wrapped.KeyId);
        target.Set(cached.Key);
        if (!string.Equals(cached.Key.Id, wrapped.KeyId, StringComparison.OrdinalIgnoreCase))
            throw new KmsException(KmsError.InvalidArgument, "A wrapped data key names its key by id, not by name or alias.");
        CheckDecryptionVersion(cached, wrapped.KeyVersion);
        var dek = GC.AllocateArray<byte>(KeyWrap.KeySize, pinned: true);
        try
        {
            using var kek = Material(cached, wrapped.KeyVersion);
            KeyWrap.Unwrap(kek.Bytes, wrapped.Blob, cached.Key.Id, wrapped.KeyVersion, EncryptionContext.Canonical(context), dek);
        }
        catch (AuthenticationFailedException)
        {
            CryptographicOperations.ZeroMemory(dek);
            throw new KmsException(KmsError.InvalidCiphertext,
                $"The wrapped data key does not verify under key '{cached.Key.Name}' version {wrapped.KeyVersion}: it was modified, belongs to another context, or names the wrong key or version.");
        }
        return dek;
    }

    private byte[] EncryptCore(CachedKey cached, int version, ReadOnlySpan<byte> plaintext, IReadOnlyDictionary<string, string>? context)
    {
        var header = CiphertextBlob.Header(cached.Key.Id, version);
        var blob = new byte[header.Length + CiphertextBlob.NonceSize + plaintext.Length + CiphertextBlob.TagSize];
        header.CopyTo(blob, 0);
        var nonce = blob.AsSpan(header.Length, CiphertextBlob.NonceSize);
        RandomNumberGenerator.Fill(nonce);
        var ct = blob.AsSpan(header.Length + CiphertextBlob.NonceSize, plaintext.Length);
        var tag = blob.AsSpan(header.Length + CiphertextBlob.NonceSize + plaintext.Length, CiphertextBlob.TagSize);
        using var kek = Material(cached, version);
        using var gcm = new AesGcm(kek.Bytes, CiphertextBlob.TagSize);
        gcm.Encrypt(nonce, plaintext, ct, tag, [.. header, .. EncryptionContext.Canonical(context)]);
        return blob;
    }

    private byte[] DecryptCore(ReadOnlySpan<byte> blob, IReadOnlyDictionary<string, string>? context, Target target, string? expectedKeyRef = null)
    {
        var (keyId, version, headerLength) = CiphertextBlob.Parse(blob);
        target.KeyId = keyId;
        target.Version = version;
        if (!KeyNames.IsKeyId(keyId))
            throw CiphertextBlob.Invalid("it names no valid key id");
        // A header naming a key or a version that does not exist was altered (or never came from here): that is an
        // invalid ciphertext, not a missing key or a key in the wrong state.
        CachedKey cached;
        try
        {
            cached = Resolve(keyId);
        }
        catch (KmsException e) when (e.Error == KmsError.NotFound)
        {
            throw CiphertextBlob.Invalid("it names a key that does not exist");
        }
        target.Set(cached.Key);
        // The message names only the caller's own reference: the blob's key may be one the caller may not see.
        if (expectedKeyRef is not null && Resolve(expectedKeyRef).Key.Id != cached.Key.Id)
            throw new KmsException(KmsError.IncorrectKey, $"The ciphertext was not made under key '{KeyNames.Shorten(expectedKeyRef)}'.");
        if (!cached.Versions.Any(v => v.Version == version))
            throw CiphertextBlob.Invalid("it names a key version that does not exist");
        CheckDecryptionVersion(cached, version);
        var length = blob.Length - headerLength - CiphertextBlob.NonceSize - CiphertextBlob.TagSize;
        var plaintext = new byte[length];
        using var kek = Material(cached, version);
        using var gcm = new AesGcm(kek.Bytes, CiphertextBlob.TagSize);
        try
        {
            gcm.Decrypt(blob.Slice(headerLength, CiphertextBlob.NonceSize), blob.Slice(headerLength + CiphertextBlob.NonceSize, length),
                blob[^CiphertextBlob.TagSize..], plaintext, [.. blob[..headerLength], .. EncryptionContext.Canonical(context)]);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new KmsException(KmsError.InvalidCiphertext,
                $"The ciphertext does not verify under key '{cached.Key.Name}' version {version}: it was modified or the context differs.");
        }
        return plaintext;
    }
}
