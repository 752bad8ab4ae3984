using System.Security.Cryptography;
using System.Text.Json;
using Coffre.Kms.Keys;

namespace Coffre.Server.Kms;

public sealed partial class KmsOperations
{
    /// <summary>AWS limits: plaintext 1..4096 bytes, ciphertext blob 1..6144 bytes.</summary>
    public const int MaxPlaintext = CiphertextBlob.MaxPlaintext;
    public const int MaxCiphertext = 6144;

    private async ValueTask Encrypt(KmsCall c, Utf8JsonWriter w)
    {
        var r = c.Request;
        var keyRef = await AuthorizedKeyAsync(c, r.KeyId);
        var plaintext = r.Plaintext ?? throw Missing("Plaintext");
        if (plaintext.Length == 0) throw Invalid("Plaintext", "Member must have length greater than or equal to 1");
        if (plaintext.Length > MaxPlaintext) throw Invalid("Plaintext", $"Member must have length less than or equal to {MaxPlaintext}");
        if (RsaAlgorithm(r.EncryptionAlgorithm) is { } rsa)
        {
            try
            {
                await EncryptAsymmetric(c, w, keyRef, plaintext, rsa);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }
            return;
        }
        CheckAlgorithm(r.EncryptionAlgorithm, "EncryptionAlgorithm");
        try
        {
            var blob = await _keys.EncryptAsync(keyRef, plaintext, r.EncryptionContext, c.Principal, Face).ConfigureAwait(false);
            CiphertextBlob.TryReadKeyId(blob, out var keyId);
            w.WriteBase64String("CiphertextBlob", blob);
            w.WriteString("KeyId", _arns.Key(c.Region, keyId));
            w.WriteString("EncryptionAlgorithm", SymmetricDefault);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private static byte[] Ciphertext(KmsRequest r)
    {
        var blob = r.CiphertextBlob ?? throw Missing("CiphertextBlob");
        if (blob.Length == 0) throw Invalid("CiphertextBlob", "Member must have length greater than or equal to 1");
        if (blob.Length > MaxCiphertext) throw Invalid("CiphertextBlob", $"Member must have length less than or equal to {MaxCiphertext}");
        return blob;
    }

    /// <summary>
    /// Authorizes use of the key a ciphertext names, and of the KeyId given with it, and returns the expected key, if any.
    /// The blob's key is checked even when a KeyId is given: a caller who may not use it is answered exactly as without
    /// a KeyId (AccessDenied), never told which key it is.
    /// </summary>
    private async ValueTask<string?> AuthorizeCiphertextAsync(KmsCall c, byte[] blob, string? keyId, string field)
    {
        var expected = keyId is null ? null : await AuthorizedKeyAsync(c, keyId, field);
        // The key named by the blob (unverified; the key manager verifies). An unreadable blob names no key: the
        // operation check still applies and the key manager answers InvalidCiphertext.
        await _access.CheckAsync(c.Access, c.Principal, c.Operation, CiphertextBlob.TryReadKeyId(blob, out var named) ? named : null);
        return expected;
    }

    private async ValueTask Decrypt(KmsCall c, Utf8JsonWriter w)
    {
        var r = c.Request;
        var blob = Ciphertext(r);
        if (r.HasRecipient) throw new KmsFaceException(KmsErrors.UnsupportedOperation, "Recipient (Nitro Enclaves attestation) is not supported.");
        if (RsaAlgorithm(r.EncryptionAlgorithm) is { } rsa)
        {
            await DecryptAsymmetric(c, w, blob, rsa);
            return;
        }
        CheckAlgorithm(r.EncryptionAlgorithm, "EncryptionAlgorithm");
        var expected = await AuthorizeCiphertextAsync(c, blob, r.KeyId, "KeyId");
        var result = await _keys.DecryptAsync(blob, r.EncryptionContext, c.Principal, expected, Face).ConfigureAwait(false);
        try
        {
            w.WriteString("KeyId", _arns.Key(c.Region, result.KeyId));
            w.WriteBase64String("Plaintext", result.Plaintext);
            w.WriteString("EncryptionAlgorithm", SymmetricDefault);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(result.Plaintext);
        }
    }

    private async ValueTask ReEncrypt(KmsCall c, Utf8JsonWriter w)
    {
        var r = c.Request;
        var blob = Ciphertext(r);
        CheckAlgorithm(r.SourceEncryptionAlgorithm, "SourceEncryptionAlgorithm");
        CheckAlgorithm(r.DestinationEncryptionAlgorithm, "DestinationEncryptionAlgorithm");
        var expected = await AuthorizeCiphertextAsync(c, blob, r.SourceKeyId is null ? null : r.SourceKeyId, "SourceKeyId");
        var destination = await AuthorizedKeyAsync(c, r.DestinationKeyId, "DestinationKeyId");
        var output = await _keys.ReEncryptAsync(blob, r.SourceEncryptionContext, destination, r.DestinationEncryptionContext, c.Principal, expected, Face);
        CiphertextBlob.TryReadKeyId(blob, out var sourceId);
        CiphertextBlob.TryReadKeyId(output, out var destinationId);
        w.WriteBase64String("CiphertextBlob", output);
        w.WriteString("SourceKeyId", _arns.Key(c.Region, sourceId));
        w.WriteString("KeyId", _arns.Key(c.Region, destinationId));
        w.WriteString("SourceEncryptionAlgorithm", SymmetricDefault);
        w.WriteString("DestinationEncryptionAlgorithm", SymmetricDefault);
    }

    private ValueTask GenerateDataKey(KmsCall c, Utf8JsonWriter w) => DataKey(c, w, withPlaintext: true);

    private ValueTask GenerateDataKeyWithoutPlaintext(KmsCall c, Utf8JsonWriter w) => DataKey(c, w, withPlaintext: false);

    private async ValueTask DataKey(KmsCall c, Utf8JsonWriter w, bool withPlaintext)
    {
        var r = c.Request;
        var keyRef = await AuthorizedKeyAsync(c, r.KeyId);
        int bytes;
        if (r.NumberOfBytes is not null && r.KeySpec is not null)
            throw new KmsFaceException(KmsErrors.Validation, "Please specify either number of bytes or key spec, not both.");
        else if (r.NumberOfBytes is { } m)
        {
            if (m is < 1 or > 1024) throw Invalid("NumberOfBytes", "Member must have value between 1 and 1024", m);
            bytes = m;
        }
        else
        {
            bytes = r.KeySpec switch
            {
                "AES_256" => 32,
                "AES_128" => 16,
                null => throw new KmsFaceException(KmsErrors.Validation, "Please specify either number of bytes or key spec."),
                var other => throw Invalid("KeySpec", "Member must satisfy enum value set: [AES_256, AES_128]", other),
            };
        }
        var key = await _keys.GenerateDataKeyCiphertextAsync(keyRef, bytes, r.EncryptionContext, c.Principal, c.Operation, Face).ConfigureAwait(false);
        try
        {
            w.WriteBase64String("CiphertextBlob", key.CiphertextBlob);
            if (withPlaintext) w.WriteBase64String("Plaintext", key.Plaintext);
            w.WriteString("KeyId", _arns.Key(c.Region, key.KeyId));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key.Plaintext);
        }
    }

    private async ValueTask GenerateRandom(KmsCall c, Utf8JsonWriter w)
    {
        var r = c.Request;
        await AuthorizeOperationAsync(c);
        if (r.HasRecipient) throw new KmsFaceException(KmsErrors.UnsupportedOperation, "Recipient (Nitro Enclaves attestation) is not supported.");
        var n = r.NumberOfBytes ?? throw Missing("NumberOfBytes");
        if (n is < 1 or > 1024) throw Invalid("NumberOfBytes", "Member must have value between 1 and 1024", n);
        var bytes = await _keys.GenerateRandomAsync(n, c.Principal, Face);
        w.WriteBase64String("Plaintext", bytes);
        CryptographicOperations.ZeroMemory(bytes);
    }
}
