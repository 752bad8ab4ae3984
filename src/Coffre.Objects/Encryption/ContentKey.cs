using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Coffre.Objects.Encryption;

/// <summary>
/// The key an object's body streams are encrypted under (docs/format.md §5.3). Without a customer key and without an
/// SSE-KMS encryption context it is the data key itself, as objects have always been written. Otherwise it is
/// HKDF-SHA256 over both keys, so reading needs Coffre's data key AND the client's key, and the context is bound:
/// <code>IKM = data key || customer key (absent: nothing); salt = none;
/// info = "coffre/v1/content-key" || u32(len(context)) || context (UTF-8); L = 32</code>
/// </summary>
public static class ContentKey
{
    private static readonly byte[] Label = "coffre/v1/content-key"u8.ToArray();

    /// <summary>A fresh array the caller zeroes.</summary>
    public static byte[] Derive(ReadOnlySpan<byte> dataKey, CustomerKey? customerKey, string? context)
    {
        if (customerKey is null && context is null) return dataKey.ToArray();
        var customer = customerKey is null ? [] : customerKey.Bytes;
        var ikm = new byte[dataKey.Length + customer.Length];
        var contextBytes = Encoding.UTF8.GetBytes(context ?? "");
        var info = new byte[Label.Length + 4 + contextBytes.Length];
        try
        {
            dataKey.CopyTo(ikm);
            customer.CopyTo(ikm.AsSpan(dataKey.Length));
            Label.CopyTo(info, 0);
            BinaryPrimitives.WriteUInt32BigEndian(info.AsSpan(Label.Length), (uint)contextBytes.Length);
            contextBytes.CopyTo(info, Label.Length + 4);
            return HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, 32, salt: [], info: info);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(ikm);
        }
    }
}
