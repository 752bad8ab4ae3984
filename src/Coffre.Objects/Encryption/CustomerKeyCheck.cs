using System.Security.Cryptography;

namespace Coffre.Objects.Encryption;

/// <summary>
/// The salted HMAC an SSE-C object keeps of its customer key (docs/format.md §5.3):
/// <c>HMAC-SHA256(key = salt, message = "coffre/v1/sse-c-key" || customer key)</c> with a random 32-byte salt per
/// object. It answers "is this the key the object was written with" without keeping the key; the salt makes the
/// value differ between objects written with the same key, so it does not link them.
/// </summary>
public static class CustomerKeyCheck
{
    private static readonly byte[] Label = "coffre/v1/sse-c-key"u8.ToArray();

    public static (string Salt, string Hmac) Create(CustomerKey key)
    {
        var salt = RandomNumberGenerator.GetBytes(32);
        return (Convert.ToBase64String(salt), Convert.ToBase64String(Compute(salt, key)));
    }

    public static bool Matches(ObjectEncryption facts, CustomerKey key) =>
        facts.CustomerKeySalt is { } salt && facts.CustomerKeyHmac is { } hmac
        && CryptographicOperations.FixedTimeEquals(Compute(Convert.FromBase64String(salt), key), Convert.FromBase64String(hmac));

    internal static byte[] Compute(byte[] salt, CustomerKey key)
    {
        var message = new byte[Label.Length + CustomerKey.Length];
        try
        {
            Label.CopyTo(message, 0);
            key.Bytes.CopyTo(message.AsSpan(Label.Length));
            return HMACSHA256.HashData(salt, message);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(message);
        }
    }
}
