using System.Security.Cryptography;
using System.Text;
using Konscious.Security.Cryptography;

namespace Coffre.Kms.Root;

/// <summary>
/// The seal key of a passphrase seal (docs/format.md §6.1): Argon2id (memory-hard: a GPU or ASIC guessing
/// passphrases pays the memory of every guess, which PBKDF2 does not make it pay), or PBKDF2-SHA256 for seals written
/// before Argon2id was the default. Parameters come from the seal file, bounded by <see cref="SealOptions"/> on read.
/// </summary>
public static class PassphraseKdf
{
    internal static void Derive(RootSealFile seal, ReadOnlySpan<char> passphrase, Span<byte> sealKey)
    {
        switch (seal.Kdf)
        {
            case RootSealFile.Pbkdf2:
                Rfc2898DeriveBytes.Pbkdf2(passphrase, seal.Salt, sealKey, seal.Iterations, HashAlgorithmName.SHA256);
                return;
            case RootSealFile.Argon2id:
                Argon2idKey(passphrase, seal.Salt!, seal.MemoryKib, seal.Iterations, seal.Parallelism, sealKey);
                return;
            default:
                throw new KmsException(KmsError.InvalidArgument, $"Unsupported key derivation function '{seal.Kdf}'.");
        }
    }

    /// <summary>Argon2id (RFC 9106) of the passphrase's UTF-8 bytes; the caller bounds the parameters
    /// (<see cref="SealOptions.CheckArgon2"/>) when they come from a file.</summary>
    public static void Argon2idKey(ReadOnlySpan<char> passphrase, byte[] salt, int memoryKib, int passes, int parallelism, Span<byte> key)
    {
        var password = Encoding.UTF8.GetBytes(passphrase.ToArray());
        try
        {
            using var argon = new Argon2id(password) { Salt = salt, Iterations = passes, MemorySize = memoryKib, DegreeOfParallelism = parallelism };
            var derived = argon.GetBytes(key.Length);
            derived.CopyTo(key);
            CryptographicOperations.ZeroMemory(derived);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(password);
        }
    }
}
