using System.Text;
using Coffre.Kms;
using Coffre.Kms.Keys;

namespace Coffre.Fuzz.Targets;

/// <summary>
/// The KMS ciphertext blob's header (the bytes a KMS client sends to Decrypt and ReEncrypt). Every rejection is a
/// <see cref="KmsException"/> (InvalidCiphertext), and a blob that parses names a key id and version within the blob.
/// </summary>
public sealed class CiphertextBlobTarget : FuzzTarget
{
    public override string Name => "ciphertext-blob";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var named = CiphertextBlob.TryReadKeyId(input, out var keyId);
        try
        {
            var (parsedId, version, headerLength) = CiphertextBlob.Parse(input);
            Check(named && parsedId == keyId, "TryReadKeyId and Parse agree");
            Check(version > 0 && headerLength <= input.Length - CiphertextBlob.NonceSize - CiphertextBlob.TagSize,
                "a parsed blob has a positive version and room for its nonce and tag");
        }
        catch (KmsException e) when (e.Error == KmsError.InvalidCiphertext)
        {
            Check(!named, "TryReadKeyId and Parse agree");
        }
    }

    public override IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        byte[] Blob(string keyId, int version, int ciphertextLength) =>
            [.. CiphertextBlob.Header(keyId, version), .. new byte[CiphertextBlob.NonceSize + ciphertextLength + CiphertextBlob.TagSize]];
        yield return ("finance-v1", Blob("finance", 1, 32));
        yield return ("unicode-v7", Blob("clé-é", 7, 5));
        yield return ("not-a-blob", Encoding.ASCII.GetBytes("CFRK"));
    }
}
