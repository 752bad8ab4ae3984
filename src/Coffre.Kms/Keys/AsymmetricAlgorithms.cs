using System.Security.Cryptography;

namespace Coffre.Kms.Keys;

/// <summary>Signature schemes of RSA keys for <see cref="KeyUsage.SignVerify"/>: PSS (salt as long as the hash, as AWS KMS
/// and .NET both fix it) and PKCS #1 v1.5, each over SHA-256, SHA-384 or SHA-512.</summary>
public enum SigningAlgorithm
{
    RsassaPssSha256,
    RsassaPssSha384,
    RsassaPssSha512,
    RsassaPkcs1V15Sha256,
    RsassaPkcs1V15Sha384,
    RsassaPkcs1V15Sha512,
}

/// <summary>Encryption schemes of RSA keys for <see cref="KeyUsage.EncryptDecrypt"/>: OAEP with SHA-1 or SHA-256 (MGF1 with
/// the same hash, empty label), as AWS KMS defines RSAES_OAEP_SHA_1 and RSAES_OAEP_SHA_256.</summary>
public enum AsymmetricEncryption
{
    RsaesOaepSha1,
    RsaesOaepSha256,
}

/// <summary>AWS KMS's names of the asymmetric algorithms and what they are in .NET.</summary>
public static class AsymmetricAlgorithms
{
    private static readonly (SigningAlgorithm Algorithm, string Name, HashAlgorithmName Hash, RSASignaturePadding Padding, int DigestBytes)[] Signing =
    [
        (SigningAlgorithm.RsassaPssSha256, "RSASSA_PSS_SHA_256", HashAlgorithmName.SHA256, RSASignaturePadding.Pss, 32),
        (SigningAlgorithm.RsassaPssSha384, "RSASSA_PSS_SHA_384", HashAlgorithmName.SHA384, RSASignaturePadding.Pss, 48),
        (SigningAlgorithm.RsassaPssSha512, "RSASSA_PSS_SHA_512", HashAlgorithmName.SHA512, RSASignaturePadding.Pss, 64),
        (SigningAlgorithm.RsassaPkcs1V15Sha256, "RSASSA_PKCS1_V1_5_SHA_256", HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1, 32),
        (SigningAlgorithm.RsassaPkcs1V15Sha384, "RSASSA_PKCS1_V1_5_SHA_384", HashAlgorithmName.SHA384, RSASignaturePadding.Pkcs1, 48),
        (SigningAlgorithm.RsassaPkcs1V15Sha512, "RSASSA_PKCS1_V1_5_SHA_512", HashAlgorithmName.SHA512, RSASignaturePadding.Pkcs1, 64),
    ];

    private static readonly (AsymmetricEncryption Algorithm, string Name, RSAEncryptionPadding Padding, int HashBytes)[] Encryption =
    [
        (AsymmetricEncryption.RsaesOaepSha1, "RSAES_OAEP_SHA_1", RSAEncryptionPadding.OaepSHA1, 20),
        (AsymmetricEncryption.RsaesOaepSha256, "RSAES_OAEP_SHA_256", RSAEncryptionPadding.OaepSHA256, 32),
    ];

    public static IReadOnlyList<string> SigningNames { get; } = Signing.Select(s => s.Name).ToArray();

    public static IReadOnlyList<string> EncryptionNames { get; } = Encryption.Select(e => e.Name).ToArray();

    public static SigningAlgorithm? TryParseSigning(string? name) =>
        Array.FindIndex(Signing, s => s.Name == name) is var i and >= 0 ? Signing[i].Algorithm : null;

    public static AsymmetricEncryption? TryParseEncryption(string? name) =>
        Array.FindIndex(Encryption, e => e.Name == name) is var i and >= 0 ? Encryption[i].Algorithm : null;

    public static string Name(this SigningAlgorithm a) => Signing[(int)a].Name;

    public static string Name(this AsymmetricEncryption a) => Encryption[(int)a].Name;

    public static HashAlgorithmName Hash(this SigningAlgorithm a) => Signing[(int)a].Hash;

    public static RSASignaturePadding Padding(this SigningAlgorithm a) => Signing[(int)a].Padding;

    public static RSAEncryptionPadding Padding(this AsymmetricEncryption a) => Encryption[(int)a].Padding;

    /// <summary>The size of the digest a DIGEST message must have.</summary>
    public static int DigestBytes(this SigningAlgorithm a) => Signing[(int)a].DigestBytes;

    /// <summary>The longest plaintext OAEP takes under an RSA key of <paramref name="bits"/>: k - 2·hLen - 2 (RFC 8017 §7.1.1).</summary>
    public static int MaxPlaintext(this AsymmetricEncryption a, int bits) => bits / 8 - 2 * Encryption[(int)a].HashBytes - 2;
}
