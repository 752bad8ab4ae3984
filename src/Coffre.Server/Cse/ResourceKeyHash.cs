using System.Security.Cryptography;
using System.Text;

namespace Coffre.Server.Cse;

/// <summary>Google's resource key hash: HMAC-SHA256 keyed with the data key over "ResourceKeyDigest:" || resource_name || ":" || perimeter_id (UTF-8).</summary>
public static class ResourceKeyHash
{
    public static byte[] Compute(ReadOnlySpan<byte> dataKey, string resourceName, string perimeterId) =>
        HMACSHA256.HashData(dataKey, Encoding.UTF8.GetBytes($"ResourceKeyDigest:{resourceName}:{perimeterId}"));
}
