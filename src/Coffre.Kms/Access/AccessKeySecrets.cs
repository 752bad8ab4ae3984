using System.Security.Cryptography;

namespace Coffre.Kms.Access;

/// <summary>
/// Generated credentials, shaped like AWS's so every S3 and KMS client accepts them: a 20-character access key id
/// ("COFFRE" + 14 characters of A-Z2-7) and a 40-character secret derived from a 32-byte random seed (the seed is
/// what the root key wraps).
/// </summary>
public static class AccessKeySecrets
{
    public const int SeedBytes = 32;
    private const string IdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    public static string NewAccessKeyId()
    {
        Span<char> chars = stackalloc char[14];
        for (var i = 0; i < chars.Length; i++) chars[i] = IdAlphabet[RandomNumberGenerator.GetInt32(IdAlphabet.Length)];
        return "COFFRE" + new string(chars);
    }

    /// <summary>The 40-character secret of a seed (base64 of its 32 bytes, cut to 40: 240 bits).</summary>
    public static string Secret(ReadOnlySpan<byte> seed) => Convert.ToBase64String(seed)[..40];
}
