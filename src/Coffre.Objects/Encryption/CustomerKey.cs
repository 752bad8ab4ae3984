using System.Security.Cryptography;

namespace Coffre.Objects.Encryption;

/// <summary>
/// A client's own 256-bit key (S3's SSE-C), held only for the request that carries it: it is a second key
/// beside Coffre's data key (<see cref="ContentKey"/>), never stored. What the object keeps is a salted HMAC of it
/// (<see cref="CustomerKeyCheck"/>), enough to tell a wrong or missing key from damaged data.
/// </summary>
public sealed class CustomerKey : IDisposable
{
    public const int Length = 32;

    private readonly byte[] _key;

    /// <summary>Takes ownership of <paramref name="key"/> (zeroed on dispose).</summary>
    public CustomerKey(byte[] key)
    {
        if (key.Length != Length)
            throw new ObjectStoreException(ObjectError.InvalidArgument, "The secret key was invalid for the specified algorithm: SSE-C needs a 256-bit key.");
        _key = key;
    }

    internal ReadOnlySpan<byte> Bytes => _key;

    public void Dispose() => CryptographicOperations.ZeroMemory(_key);
}
