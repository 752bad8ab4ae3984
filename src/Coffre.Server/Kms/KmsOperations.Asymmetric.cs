using System.Security.Cryptography;
using System.Text.Json;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Kms.Store;

namespace Coffre.Server.Kms;

// RSA keys (docs/kms-api.md, "Asymmetric keys"): GetPublicKey, Sign, Verify, and Encrypt/Decrypt with RSAES_OAEP_*, as
// the AWS KMS API reference defines them. The ciphertexts and signatures are the bare RSA outputs AWS gives, so a
// client can encrypt or verify offline with the public key; the key manager finds the version that opens them.
public sealed partial class KmsOperations
{
    private async ValueTask GetPublicKey(KmsCall c, Utf8JsonWriter w)
    {
        var keyRef = await AuthorizedKeyAsync(c, c.Request.KeyId);
        var key = await _keys.GetPublicKeyAsync(keyRef, c.Principal, FaceContext);
        w.WriteString("KeyId", _arns.Key(c.Region, key.KeyId));
        w.WriteBase64String("PublicKey", key.SubjectPublicKeyInfo);
        w.WriteString("KeyUsage", StoredNames.Text(key.Usage));
        WriteSpecAndAlgorithms(w, key.Spec, key.Usage);
    }

    private async ValueTask Sign(KmsCall c, Utf8JsonWriter w)
    {
        var r = c.Request;
        var keyRef = await AuthorizedKeyAsync(c, r.KeyId);
        var (message, isDigest, algorithm) = SignedMessage(r);
        var result = await _keys.SignAsync(keyRef, message, isDigest, algorithm, c.Principal, FaceContext);
        w.WriteString("KeyId", _arns.Key(c.Region, result.KeyId));
        w.WriteBase64String("Signature", result.Signature);
        w.WriteString("SigningAlgorithm", algorithm.Name());
    }

    private async ValueTask Verify(KmsCall c, Utf8JsonWriter w)
    {
        var r = c.Request;
        var keyRef = await AuthorizedKeyAsync(c, r.KeyId);
        var (message, isDigest, algorithm) = SignedMessage(r);
        var signature = r.Signature ?? throw Missing("Signature");
        if (signature.Length is 0 or > 6144) throw Invalid("Signature", "Member must have length between 1 and 6144");
        var (keyId, _) = await _keys.VerifyAsync(keyRef, message, isDigest, algorithm, signature, c.Principal, FaceContext);
        w.WriteString("KeyId", _arns.Key(c.Region, keyId));
        w.WriteBoolean("SignatureValid", true);
        w.WriteString("SigningAlgorithm", algorithm.Name());
    }

    private static (byte[] Message, bool IsDigest, SigningAlgorithm Algorithm) SignedMessage(KmsRequest r)
    {
        var message = r.Message ?? throw Missing("Message");
        if (message.Length is 0 or > KeyManager.MaxSignedMessage)
            throw Invalid("Message", $"Member must have length between 1 and {KeyManager.MaxSignedMessage}");
        var isDigest = r.MessageType switch
        {
            null or "RAW" => false,
            "DIGEST" => true,
            _ => throw Invalid("MessageType", "Member must satisfy enum value set: [RAW, DIGEST]", r.MessageType),
        };
        var name = r.SigningAlgorithm ?? throw Missing("SigningAlgorithm");
        var algorithm = AsymmetricAlgorithms.TryParseSigning(name)
            ?? throw Invalid("SigningAlgorithm", $"Member must satisfy enum value set: [{string.Join(", ", AsymmetricAlgorithms.SigningNames)}]", name);
        return (message, isDigest, algorithm);
    }

    /// <summary>Encrypt with an RSAES_OAEP_* algorithm: RSA-OAEP under the key's primary version.</summary>
    private async ValueTask EncryptAsymmetric(KmsCall c, Utf8JsonWriter w, string keyRef, byte[] plaintext, AsymmetricEncryption algorithm)
    {
        if (c.Request.EncryptionContext is { Count: > 0 })
            throw Invalid("EncryptionContext", "EncryptionContext is not supported by asymmetric KMS keys");
        var result = await _keys.EncryptAsymmetricAsync(keyRef, plaintext, algorithm, c.Principal, FaceContext);
        w.WriteBase64String("CiphertextBlob", result.Ciphertext);
        w.WriteString("KeyId", _arns.Key(c.Region, result.KeyId));
        w.WriteString("EncryptionAlgorithm", algorithm.Name());
    }

    /// <summary>Decrypt with an RSAES_OAEP_* algorithm: the ciphertext names no key, so KeyId is required (as in AWS KMS).</summary>
    private async ValueTask DecryptAsymmetric(KmsCall c, Utf8JsonWriter w, byte[] ciphertext, AsymmetricEncryption algorithm)
    {
        var r = c.Request;
        if (r.KeyId is null) throw Missing("KeyId");
        if (r.EncryptionContext is { Count: > 0 })
            throw Invalid("EncryptionContext", "EncryptionContext is not supported by asymmetric KMS keys");
        var keyRef = await AuthorizedKeyAsync(c, r.KeyId);
        var result = await _keys.DecryptAsymmetricAsync(keyRef, null, ciphertext, algorithm, c.Principal, FaceContext);
        try
        {
            w.WriteString("KeyId", _arns.Key(c.Region, result.KeyId));
            w.WriteBase64String("Plaintext", result.Plaintext);
            w.WriteString("EncryptionAlgorithm", algorithm.Name());
        }
        finally
        {
            CryptographicOperations.ZeroMemory(result.Plaintext);
        }
    }

    /// <summary>The RSA encryption algorithm an Encrypt or Decrypt names, or null for the symmetric path.</summary>
    private static AsymmetricEncryption? RsaAlgorithm(string? name) => AsymmetricAlgorithms.TryParseEncryption(name);

    /// <summary>KeySpec, CustomerMasterKeySpec and the algorithm lists of DescribeKey and GetPublicKey.</summary>
    private static void WriteSpecAndAlgorithms(Utf8JsonWriter w, KeySpec spec, KeyUsage usage)
    {
        w.WriteString("CustomerMasterKeySpec", StoredNames.Text(spec));
        w.WriteString("KeySpec", StoredNames.Text(spec));
        if (!spec.IsRsa())
        {
            w.WriteStartArray("EncryptionAlgorithms");
            w.WriteStringValue(SymmetricDefault);
            w.WriteEndArray();
            return;
        }
        w.WriteStartArray(usage == KeyUsage.SignVerify ? "SigningAlgorithms" : "EncryptionAlgorithms");
        foreach (var name in usage == KeyUsage.SignVerify ? AsymmetricAlgorithms.SigningNames : AsymmetricAlgorithms.EncryptionNames)
            w.WriteStringValue(name);
        w.WriteEndArray();
    }
}
