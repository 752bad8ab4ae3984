using System.Buffers.Binary;
using System.Text;

namespace Coffre.Objects;

/// <summary>
/// What each gateway ciphertext is bound to (docs/format.md §5). The stream's associated data binds
/// bucket, object name, key id and part number; the data key's wrap context binds bucket and object
/// name. The key version is bound by the wrap only, so rewrapping to a new version touches metadata,
/// never the stream.
/// </summary>
public static class ObjectBinding
{
    public const string BucketContextKey = "coffre:bucket";
    public const string ObjectContextKey = "coffre:object";

    public static IReadOnlyDictionary<string, string> WrapContext(string bucket, string name) =>
        new Dictionary<string, string>(StringComparer.Ordinal) { [BucketContextKey] = bucket, [ObjectContextKey] = name };

    /// <summary>"coffre/v1/object" || lp(bucket) || lp(name) || lp(key id) || u32(part number; 0 for a single PUT).</summary>
    public static byte[] StreamAssociatedData(string bucket, string name, string keyId, int partNumber) =>
        Encode("coffre/v1/object"u8, bucket, name, keyId, (uint)partNumber);

    /// <summary>"coffre/v1/metadata" || lp(bucket) || lp(name) || lp(key id) || u32(0).</summary>
    public static byte[] MetadataAssociatedData(string bucket, string name, string keyId) =>
        Encode("coffre/v1/metadata"u8, bucket, name, keyId, 0);

    private static byte[] Encode(ReadOnlySpan<byte> label, string bucket, string name, string keyId, uint number)
    {
        var b = Encoding.UTF8.GetBytes(bucket);
        var n = Encoding.UTF8.GetBytes(name);
        var k = Encoding.UTF8.GetBytes(keyId);
        var result = new byte[label.Length + 12 + b.Length + n.Length + k.Length + 4];
        var span = result.AsSpan();
        label.CopyTo(span);
        var at = label.Length;
        foreach (var field in new[] { b, n, k })
        {
            BinaryPrimitives.WriteUInt32BigEndian(span[at..], (uint)field.Length);
            field.CopyTo(span[(at + 4)..]);
            at += 4 + field.Length;
        }
        BinaryPrimitives.WriteUInt32BigEndian(span[at..], number);
        return result;
    }
}
