using System.Text;
using Coffre.Server.Kms;

namespace Coffre.Fuzz.Targets;

/// <summary>The KMS JSON face's request parser. Every rejection is a <see cref="KmsFaceException"/> (SerializationException or ValidationException).</summary>
public sealed class KmsJsonTarget : FuzzTarget
{
    public override string Name => "kms-json";

    public override void Run(ReadOnlySpan<byte> input)
    {
        try
        {
            KmsJson.Parse(input);
        }
        catch (KmsFaceException)
        {
        }
    }

    public override IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        // As the AWS SDKs and CLI send them.
        yield return ("encrypt", Encoding.UTF8.GetBytes(
            "{\"KeyId\":\"alias/finance\",\"Plaintext\":\"aGVsbG8=\",\"EncryptionContext\":{\"purpose\":\"test\",\"b\":\"\\u00e9\"}}"));
        yield return ("decrypt", Encoding.UTF8.GetBytes(
            "{\"CiphertextBlob\":\"Q0ZSSwEACGZpbmFuY2UAAAAB\",\"EncryptionAlgorithm\":\"SYMMETRIC_DEFAULT\",\"DryRun\":false}"));
        yield return ("generate-data-key", Encoding.UTF8.GetBytes("{\"KeyId\":\"arn:aws:kms:us-east-1:000000000000:key/finance\",\"NumberOfBytes\":32}"));
        yield return ("tag-resource", Encoding.UTF8.GetBytes(
            "{\"KeyId\":\"finance\",\"Tags\":[{\"TagKey\":\"team\",\"TagValue\":\"ops\"}],\"TagKeys\":[\"x\"],\"Recipient\":null,\"Limit\":10}"));
        yield return ("empty", "{}"u8.ToArray());
    }
}
