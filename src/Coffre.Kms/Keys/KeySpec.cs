namespace Coffre.Kms.Keys;

/// <summary>What kind of material a key's versions hold. Symmetric keys hold 256 bits for AES-256-GCM; RSA keys hold a
/// key pair per version whose private half never leaves Coffre.</summary>
public enum KeySpec
{
    SymmetricDefault,
    Rsa2048,
    Rsa3072,
    Rsa4096,
}

/// <summary>What a key may be used for. A symmetric key always encrypts and decrypts; an RSA key does one of the two
/// jobs, chosen when it is created (as AWS KMS asks: a key pair used for both would mix two security arguments).</summary>
public enum KeyUsage
{
    EncryptDecrypt,
    SignVerify,
}

/// <summary>Names and sizes of <see cref="KeySpec"/> and <see cref="KeyUsage"/>: AWS KMS's spellings, used by the
/// stores, the CLI and the KMS face alike.</summary>
public static class KeySpecs
{
    public static IReadOnlyList<string> Names { get; } = ["SYMMETRIC_DEFAULT", "RSA_2048", "RSA_3072", "RSA_4096"];

    public static IReadOnlyList<string> UsageNames { get; } = ["ENCRYPT_DECRYPT", "SIGN_VERIFY"];

    public static KeySpec? TryParse(string? name) => name switch
    {
        "SYMMETRIC_DEFAULT" => KeySpec.SymmetricDefault,
        "RSA_2048" => KeySpec.Rsa2048,
        "RSA_3072" => KeySpec.Rsa3072,
        "RSA_4096" => KeySpec.Rsa4096,
        _ => null,
    };

    public static KeyUsage? TryParseUsage(string? name) => name switch
    {
        "ENCRYPT_DECRYPT" => KeyUsage.EncryptDecrypt,
        "SIGN_VERIFY" => KeyUsage.SignVerify,
        _ => null,
    };

    public static bool IsRsa(this KeySpec spec) => spec is KeySpec.Rsa2048 or KeySpec.Rsa3072 or KeySpec.Rsa4096;

    /// <summary>The RSA modulus size in bits.</summary>
    public static int RsaBits(this KeySpec spec) => spec switch
    {
        KeySpec.Rsa2048 => 2048,
        KeySpec.Rsa3072 => 3072,
        KeySpec.Rsa4096 => 4096,
        _ => throw new ArgumentOutOfRangeException(nameof(spec), spec, "not an RSA key spec"),
    };
}
