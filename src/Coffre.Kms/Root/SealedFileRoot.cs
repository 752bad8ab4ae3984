using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Coffre.Kms.Root;

/// <summary>
/// Root of trust kept in <c>root.seal</c> (<see cref="RootSealFile"/>): the 256-bit root key sealed with AES-256-GCM
/// under a seal key derived from a passphrase (Argon2id, or PBKDF2-SHA256 for older seals, docs/format.md §6.1) or recombined from Shamir shares
/// (§6.5). The unsealed root key stays in a pinned array, zeroed on <see cref="Dispose"/>.
/// </summary>
public sealed class SealedFileRoot : IRootOfTrust
{
    public const string FormatName = RootSealFile.FormatName;
    public const int FormatVersion = 1;
    public const int SaltSize = 32;
    public const int WrappedSize = 1 + 12 + 32 + 16;
    private const byte WrapFormat = 1;

    private readonly byte[] _rootKey;
    private bool _disposed;

    public string DeploymentId { get; }

    /// <summary>The file this root was unsealed from.</summary>
    public string Path { get; }

    private SealedFileRoot(string path, string deploymentId, byte[] pinnedRootKey)
    {
        Path = path;
        DeploymentId = deploymentId;
        _rootKey = pinnedRootKey;
    }

    /// <summary>Generates a root key, seals it under <paramref name="passphrase"/> and writes
    /// <paramref name="path"/> atomically (mode 0600). Refuses to overwrite an existing seal.</summary>
    public static SealedFileRoot Initialize(string path, ReadOnlySpan<char> passphrase, SealOptions? options = null,
        TimeProvider? time = null, string? deploymentId = null)
    {
        options ??= SealOptions.Default;
        path = System.IO.Path.GetFullPath(path);
        if (options.Kdf == RootSealFile.Argon2id) options.CheckArgon2(options.Argon2MemoryKib, options.Argon2Passes, options.Argon2Parallelism, path);
        else if (options.Kdf == RootSealFile.Pbkdf2) options.CheckIterations(options.Iterations, path);
        else throw new KmsException(KmsError.InvalidArgument, $"Unsupported key derivation function '{options.Kdf}': use {RootSealFile.Argon2id} or {RootSealFile.Pbkdf2}.");
        if (passphrase.IsEmpty)
            throw new KmsException(KmsError.InvalidArgument, "An empty passphrase cannot seal a root key; choose a long passphrase.");
        CheckAbsent(path);
        var rootKey = NewRootKey();
        try
        {
            var seal = PassphraseSeal(deploymentId ?? Guid.NewGuid().ToString("D"), passphrase, options, rootKey, time ?? TimeProvider.System);
            AtomicFile.WriteNew(path, seal.ToJson());
            return new SealedFileRoot(path, seal.DeploymentId, rootKey);
        }
        catch
        {
            CryptographicOperations.ZeroMemory(rootKey);
            throw;
        }
    }

    /// <summary>
    /// Generates a root key, seals it under a random seal key split into <paramref name="shares"/> Shamir shares of which
    /// <paramref name="threshold"/> unseal, and writes <paramref name="path"/> (never the shares). Returns the root and
    /// the shares' text, which the caller hands out once. <paramref name="handOut"/>, when given, receives the shares before
    /// the file is written (a root migration: a seal on disk whose shares were never shown could not be opened).
    /// </summary>
    public static (SealedFileRoot Root, IReadOnlyList<string> Shares) InitializeShamir(string path, int shares, int threshold,
        TimeProvider? time = null, string? deploymentId = null, Action<IReadOnlyList<string>>? handOut = null)
    {
        ShamirSecret.CheckCounts(shares, threshold);
        path = System.IO.Path.GetFullPath(path);
        CheckAbsent(path);
        var rootKey = NewRootKey();
        try
        {
            var (seal, texts) = ShamirSeal(deploymentId ?? Guid.NewGuid().ToString("D"), shares, threshold, rootKey, time ?? TimeProvider.System);
            handOut?.Invoke(texts);
            AtomicFile.WriteNew(path, seal.ToJson());
            return (new SealedFileRoot(path, seal.DeploymentId, rootKey), texts);
        }
        catch
        {
            CryptographicOperations.ZeroMemory(rootKey);
            throw;
        }
    }

    /// <summary>
    /// Reseals this root's key under new Shamir shares (new <paramref name="shares"/> and <paramref name="threshold"/>) and
    /// replaces <see cref="Path"/> atomically: the root key, and so every stored key version, is unchanged; the shares of
    /// the previous seal (or its passphrase) no longer open the new file.
    /// </summary>
    public IReadOnlyList<string> RekeyShamir(int shares, int threshold, TimeProvider? time = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ShamirSecret.CheckCounts(shares, threshold);
        var (seal, texts) = ShamirSeal(DeploymentId, shares, threshold, _rootKey, time ?? TimeProvider.System);
        AtomicFile.Replace(Path, seal.ToJson());
        return texts;
    }

    /// <summary>Reads the seal at <paramref name="path"/> and unseals the root key with a passphrase.</summary>
    /// <exception cref="KmsException"><see cref="KmsError.WrongPassphrase"/> when the passphrase does not unseal it,
    /// <see cref="KmsError.NotInitialized"/> when there is no file, <see cref="KmsError.InvalidArgument"/> when it is malformed
    /// or is not a passphrase seal.</exception>
    public static SealedFileRoot Unseal(string path, ReadOnlySpan<char> passphrase, SealOptions? options = null)
    {
        path = System.IO.Path.GetFullPath(path);
        var seal = RootSealFile.Read(path, options ?? SealOptions.Default);
        if (seal.Kind != RootKind.Passphrase)
            throw new KmsException(KmsError.InvalidArgument,
                $"The root seal {path} is unsealed by {seal.Threshold} of {seal.ShareDigests.Count} Shamir shares, not by a passphrase: use coffre unseal.");
        var sealKey = GC.AllocateArray<byte>(32, pinned: true);
        try
        {
            PassphraseKdf.Derive(seal, passphrase, sealKey);
            return Open(path, seal, sealKey, () => new KmsException(KmsError.WrongPassphrase,
                $"The passphrase does not unseal {path}. Check the passphrase (or that the file was not modified)."));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sealKey);
        }
    }

    /// <summary>Unseals a Shamir root with exactly its threshold of shares, each already checked against
    /// <paramref name="seal"/>'s digests (<see cref="RootUnsealer"/>).</summary>
    internal static SealedFileRoot UnsealShamir(string path, RootSealFile seal, IReadOnlyList<UnsealShare> shares)
    {
        var sealKey = GC.AllocateArray<byte>(32, pinned: true);
        try
        {
            ShamirSecret.Combine([.. shares.Select(s => s.Index)], [.. shares.Select(s => s.Value)], sealKey);
            return Open(path, seal, sealKey, () => UnsealShare.Invalid("the shares do not open the seal (the file was modified?)"));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sealKey);
        }
    }

    private static SealedFileRoot Open(string path, RootSealFile seal, ReadOnlySpan<byte> sealKey, Func<KmsException> wrong)
    {
        var rootKey = GC.AllocateArray<byte>(32, pinned: true);
        if (!seal.TryOpen(sealKey, rootKey)) throw wrong();
        return new SealedFileRoot(path, seal.DeploymentId, rootKey);
    }

    private static RootSealFile PassphraseSeal(string deploymentId, ReadOnlySpan<char> passphrase, SealOptions options, ReadOnlySpan<byte> rootKey, TimeProvider time)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltSize);
        var sealKey = GC.AllocateArray<byte>(32, pinned: true);
        try
        {
            // PBKDF2 seals keep version 1 (readable by older Coffre); Argon2id needs version 2.
            var argon = options.Kdf == RootSealFile.Argon2id;
            var shape = new RootSealFile
            {
                Version = argon ? 2 : FormatVersion, DeploymentId = deploymentId, Kind = RootKind.Passphrase, Kdf = options.Kdf,
                Iterations = argon ? options.Argon2Passes : options.Iterations, MemoryKib = argon ? options.Argon2MemoryKib : 0,
                Parallelism = argon ? options.Argon2Parallelism : 0,
                Salt = salt, Nonce = [], Ciphertext = [], Tag = [], Created = RootSealFile.Now(time),
            };
            PassphraseKdf.Derive(shape, passphrase, sealKey);
            return RootSealFile.Seal(shape, sealKey, rootKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sealKey);
        }
    }

    private static (RootSealFile Seal, IReadOnlyList<string> Shares) ShamirSeal(string deploymentId, int shares, int threshold,
        ReadOnlySpan<byte> rootKey, TimeProvider time)
    {
        var sealKey = GC.AllocateArray<byte>(32, pinned: true);
        RandomNumberGenerator.Fill(sealKey);
        var values = ShamirSecret.Split(sealKey, shares, threshold);
        try
        {
            var shape = new RootSealFile
            {
                Version = 2, DeploymentId = deploymentId, Kind = RootKind.Shamir, Threshold = threshold,
                ShareDigests = [.. values.Select((v, i) => UnsealShare.Digest(deploymentId, (byte)(i + 1), v))],
                Nonce = [], Ciphertext = [], Tag = [], Created = RootSealFile.Now(time),
            };
            var seal = RootSealFile.Seal(shape, sealKey, rootKey);
            return (seal, [.. values.Select((v, i) => new UnsealShare(threshold, (byte)(i + 1), v).Encode())]);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sealKey);
            foreach (var v in values) CryptographicOperations.ZeroMemory(v);
        }
    }

    private static byte[] NewRootKey()
    {
        var rootKey = GC.AllocateArray<byte>(32, pinned: true);
        RandomNumberGenerator.Fill(rootKey);
        return rootKey;
    }

    private static void CheckAbsent(string path)
    {
        if (File.Exists(path))
            throw new KmsException(KmsError.AlreadyInitialized,
                $"A root seal already exists at {path}; refusing to overwrite it (that would make every key unreadable).");
    }

    public byte[] Wrap(ReadOnlySpan<byte> keyMaterial, ReadOnlySpan<byte> associatedData)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (keyMaterial.Length != 32) throw new KmsException(KmsError.InvalidArgument, "The root key wraps 32-byte key material only.");
        var result = new byte[WrappedSize];
        result[0] = WrapFormat;
        RandomNumberGenerator.Fill(result.AsSpan(1, 12));
        using var gcm = new AesGcm(_rootKey, 16);
        gcm.Encrypt(result.AsSpan(1, 12), keyMaterial, result.AsSpan(13, 32), result.AsSpan(45, 16), associatedData);
        return result;
    }

    public void Unwrap(ReadOnlySpan<byte> wrapped, ReadOnlySpan<byte> associatedData, Span<byte> keyMaterial)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (keyMaterial.Length != 32) throw new KmsException(KmsError.InvalidArgument, "Key material is 32 bytes.");
        if (wrapped.Length != WrappedSize || wrapped[0] != WrapFormat)
            throw new KmsException(KmsError.InvalidCiphertext, "Key material wrapped by the root key is malformed; the key store was modified or belongs to another deployment.");
        using var gcm = new AesGcm(_rootKey, 16);
        try
        {
            gcm.Decrypt(wrapped.Slice(1, 12), wrapped.Slice(13, 32), wrapped.Slice(45, 16), keyMaterial, associatedData);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new KmsException(KmsError.InvalidCiphertext, "Key material wrapped by the root key does not verify; the key store was modified or belongs to another deployment.");
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        CryptographicOperations.ZeroMemory(_rootKey);
    }

    public override string ToString() => $"SealedFileRoot({Path}, deployment {DeploymentId})";
}
