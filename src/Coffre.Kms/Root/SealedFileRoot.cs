using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Coffre.Kms.Root;

/// <summary>
/// Root of trust kept in a JSON file, the 256-bit root key sealed with AES-256-GCM under a key
/// derived from a passphrase by PBKDF2-SHA256 (docs/format.md §6). The unsealed root key stays in a
/// pinned array, zeroed on <see cref="Dispose"/>.
/// </summary>
public sealed class SealedFileRoot : IRootOfTrust
{
    public const string FormatName = "coffre-root-seal";
    public const int FormatVersion = 1;
    public const string Kdf = "pbkdf2-sha256";
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
        time ??= TimeProvider.System;
        path = System.IO.Path.GetFullPath(path);
        options.CheckIterations(options.Iterations, path);
        if (passphrase.IsEmpty)
            throw new KmsException(KmsError.InvalidArgument, "An empty passphrase cannot seal a root key; choose a long passphrase.");
        if (File.Exists(path))
            throw new KmsException(KmsError.AlreadyInitialized,
                $"A root seal already exists at {path}; refusing to overwrite it (that would make every key unreadable).");
        deploymentId ??= Guid.NewGuid().ToString("D");

        var rootKey = GC.AllocateArray<byte>(32, pinned: true);
        RandomNumberGenerator.Fill(rootKey);
        var salt = RandomNumberGenerator.GetBytes(SaltSize);
        var nonce = RandomNumberGenerator.GetBytes(12);
        var ciphertext = new byte[32];
        var tag = new byte[16];
        var kek = GC.AllocateArray<byte>(32, pinned: true);
        try
        {
            Rfc2898DeriveBytes.Pbkdf2(passphrase, salt, kek, options.Iterations, HashAlgorithmName.SHA256);
            using (var gcm = new AesGcm(kek, 16))
                gcm.Encrypt(nonce, rootKey, ciphertext, tag, SealAad(deploymentId));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }

        var created = time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture);
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("format", FormatName);
            json.WriteNumber("version", FormatVersion);
            json.WriteString("deployment_id", deploymentId);
            json.WriteString("kdf", Kdf);
            json.WriteNumber("iterations", options.Iterations);
            json.WriteString("salt", Convert.ToBase64String(salt));
            json.WriteString("cipher", "aes-256-gcm");
            json.WriteString("nonce", Convert.ToBase64String(nonce));
            json.WriteString("ciphertext", Convert.ToBase64String(ciphertext));
            json.WriteString("tag", Convert.ToBase64String(tag));
            json.WriteString("created", created);
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        try
        {
            AtomicFile.WriteNew(path, buffer.ToArray());
        }
        catch
        {
            CryptographicOperations.ZeroMemory(rootKey);
            throw;
        }
        return new SealedFileRoot(path, deploymentId, rootKey);
    }

    /// <summary>Reads the seal at <paramref name="path"/> and unseals the root key.</summary>
    /// <exception cref="KmsException"><see cref="KmsError.WrongPassphrase"/> when the passphrase does not unseal it,
    /// <see cref="KmsError.NotInitialized"/> when there is no file, <see cref="KmsError.InvalidArgument"/> when it is malformed.</exception>
    public static SealedFileRoot Unseal(string path, ReadOnlySpan<char> passphrase, SealOptions? options = null)
    {
        options ??= SealOptions.Default;
        path = System.IO.Path.GetFullPath(path);
        if (!File.Exists(path))
            throw new KmsException(KmsError.NotInitialized, $"There is no root seal at {path}; initialize the key manager first.");
        string deploymentId;
        int iterations;
        byte[] salt, nonce, ciphertext, tag;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            if (root.GetProperty("format").GetString() != FormatName)
                throw Malformed(path, "it is not a Coffre root seal");
            if (root.GetProperty("version").GetInt32() != FormatVersion)
                throw Malformed(path, $"seal version {root.GetProperty("version").GetInt32()} is not supported");
            if (root.GetProperty("kdf").GetString() != Kdf)
                throw Malformed(path, "unsupported key derivation function");
            deploymentId = root.GetProperty("deployment_id").GetString() ?? throw Malformed(path, "no deployment id");
            iterations = root.GetProperty("iterations").GetInt32();
            salt = Base64(root, "salt");
            nonce = Base64(root, "nonce");
            ciphertext = Base64(root, "ciphertext");
            tag = Base64(root, "tag");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or FormatException or InvalidOperationException or NullReferenceException)
        {
            throw Malformed(path, "it could not be parsed");
        }
        options.CheckIterations(iterations, path);
        if (salt.Length is < 16 or > 32 || nonce.Length != 12 || ciphertext.Length != 32 || tag.Length != 16)
            throw Malformed(path, "a field has the wrong length");

        var rootKey = GC.AllocateArray<byte>(32, pinned: true);
        var kek = GC.AllocateArray<byte>(32, pinned: true);
        try
        {
            Rfc2898DeriveBytes.Pbkdf2(passphrase, salt, kek, iterations, HashAlgorithmName.SHA256);
            using var gcm = new AesGcm(kek, 16);
            gcm.Decrypt(nonce, ciphertext, tag, rootKey, SealAad(deploymentId));
        }
        catch (AuthenticationTagMismatchException)
        {
            CryptographicOperations.ZeroMemory(rootKey);
            throw new KmsException(KmsError.WrongPassphrase,
                $"The passphrase does not unseal {path}. Check the passphrase (or that the file was not modified).");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }
        return new SealedFileRoot(path, deploymentId, rootKey);
    }

    /// <summary>A base64 member of the seal; a JSON null is malformed like a missing member (not an ArgumentNullException).</summary>
    private static byte[] Base64(JsonElement seal, string name) =>
        Convert.FromBase64String(seal.GetProperty(name).GetString() ?? throw new FormatException($"'{name}' is null."));

    /// <summary>lp("coffre-root-seal") || u32(1) || lp(deployment id).</summary>
    internal static byte[] SealAad(string deploymentId)
    {
        var name = Encoding.UTF8.GetBytes(FormatName);
        var id = Encoding.UTF8.GetBytes(deploymentId);
        var aad = new byte[4 + name.Length + 4 + 4 + id.Length];
        BinaryPrimitives.WriteUInt32BigEndian(aad, (uint)name.Length);
        name.CopyTo(aad, 4);
        BinaryPrimitives.WriteUInt32BigEndian(aad.AsSpan(4 + name.Length), FormatVersion);
        BinaryPrimitives.WriteUInt32BigEndian(aad.AsSpan(8 + name.Length), (uint)id.Length);
        id.CopyTo(aad, 12 + name.Length);
        return aad;
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

    private static KmsException Malformed(string path, string why) =>
        new(KmsError.InvalidArgument, $"The root seal {path} is malformed: {why}.");
}
