using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Coffre.Kms.Root;

/// <summary>How a root seal protects the key that seals the root key.</summary>
public enum RootKind
{
    /// <summary>A passphrase through a KDF (docs/format.md §6.1).</summary>
    Passphrase,
    /// <summary>A random seal key split into Shamir shares held by officers (docs/format.md §6.5).</summary>
    Shamir,
    /// <summary>The root key itself is a non-extractable key in a PKCS#11 HSM, opened with the token's PIN (docs/format.md §6.6).</summary>
    Pkcs11,
}

/// <summary>
/// The content of <c>root.seal</c>: which kind of root it is, the deployment it belongs to, the parameters needed to
/// rebuild the seal key, and the root key sealed under it with AES-256-GCM. Reading it authenticates nothing; every
/// parameter is bounded here so that an edited file is refused before any work. docs/format.md §6.1 and §6.5.
/// </summary>
public sealed record RootSealFile
{
    public const string FormatName = "coffre-root-seal";
    public const string Pbkdf2 = "pbkdf2-sha256";
    public const string Argon2id = "argon2id";

    public required int Version { get; init; }
    public required string DeploymentId { get; init; }
    public required RootKind Kind { get; init; }
    // Passphrase
    public string? Kdf { get; init; }
    /// <summary>PBKDF2 iterations, or Argon2id passes (t).</summary>
    public int Iterations { get; init; }
    /// <summary>Argon2id memory in KiB (m) and lanes (p).</summary>
    public int MemoryKib { get; init; }
    public int Parallelism { get; init; }
    public byte[]? Salt { get; init; }
    // Shamir
    public int Threshold { get; init; }
    public IReadOnlyList<byte[]> ShareDigests { get; init; } = [];
    // PKCS#11: where the root key is (the file holds no key material at all)
    public string? Module { get; init; }
    public string? TokenLabel { get; init; }
    public string? KeyLabel { get; init; }
    // Sealed root key
    public required byte[] Nonce { get; init; }
    public required byte[] Ciphertext { get; init; }
    public required byte[] Tag { get; init; }
    public required string Created { get; init; }

    /// <summary>How many parts unsealing needs: the threshold of a Shamir root, 1 for a passphrase.</summary>
    public int Needed => Kind == RootKind.Shamir ? Threshold : 1;

    /// <summary>Seals <paramref name="rootKey"/> under <paramref name="sealKey"/> into a file of the given shape.</summary>
    public static RootSealFile Seal(RootSealFile shape, ReadOnlySpan<byte> sealKey, ReadOnlySpan<byte> rootKey)
    {
        var nonce = RandomNumberGenerator.GetBytes(12);
        var ciphertext = new byte[32];
        var tag = new byte[16];
        using (var gcm = new AesGcm(sealKey, 16))
            gcm.Encrypt(nonce, rootKey, ciphertext, tag, Aad(shape.Version, shape.DeploymentId));
        return shape with { Nonce = nonce, Ciphertext = ciphertext, Tag = tag };
    }

    /// <summary>Opens the root key into <paramref name="rootKey"/>; false when <paramref name="sealKey"/> is wrong (or the file was modified).</summary>
    public bool TryOpen(ReadOnlySpan<byte> sealKey, Span<byte> rootKey)
    {
        using var gcm = new AesGcm(sealKey, 16);
        try
        {
            gcm.Decrypt(Nonce, Ciphertext, Tag, rootKey, Aad(Version, DeploymentId));
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            rootKey.Clear();
            return false;
        }
    }

    /// <summary>lp("coffre-root-seal") || u32(version) || lp(deployment id).</summary>
    internal static byte[] Aad(int version, string deploymentId)
    {
        var name = Encoding.UTF8.GetBytes(FormatName);
        var id = Encoding.UTF8.GetBytes(deploymentId);
        var aad = new byte[4 + name.Length + 4 + 4 + id.Length];
        BinaryPrimitives.WriteUInt32BigEndian(aad, (uint)name.Length);
        name.CopyTo(aad, 4);
        BinaryPrimitives.WriteUInt32BigEndian(aad.AsSpan(4 + name.Length), (uint)version);
        BinaryPrimitives.WriteUInt32BigEndian(aad.AsSpan(8 + name.Length), (uint)id.Length);
        id.CopyTo(aad, 12 + name.Length);
        return aad;
    }

    public static string Now(TimeProvider time) =>
        time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture);

    public byte[] ToJson()
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("format", FormatName);
            json.WriteNumber("version", Version);
            json.WriteString("deployment_id", DeploymentId);
            if (Version >= 2) json.WriteString("protection", Kind.ToString().ToLowerInvariant());
            if (Kind == RootKind.Pkcs11)
            {
                // No key material: the file says where the root key is.
                json.WriteString("module", Module);
                json.WriteString("token_label", TokenLabel);
                json.WriteString("key_label", KeyLabel);
            }
            else if (Kind == RootKind.Passphrase)
            {
                json.WriteString("kdf", Kdf);
                json.WriteNumber("iterations", Iterations);
                if (Kdf == Argon2id)
                {
                    json.WriteNumber("memory_kib", MemoryKib);
                    json.WriteNumber("parallelism", Parallelism);
                }
                json.WriteString("salt", Convert.ToBase64String(Salt!));
            }
            else
            {
                json.WriteNumber("threshold", Threshold);
                json.WriteNumber("shares", ShareDigests.Count);
                json.WriteStartArray("share_digests");
                foreach (var d in ShareDigests) json.WriteStringValue(Convert.ToBase64String(d));
                json.WriteEndArray();
            }
            if (Kind != RootKind.Pkcs11)
            {
                json.WriteString("cipher", "aes-256-gcm");
                json.WriteString("nonce", Convert.ToBase64String(Nonce));
                json.WriteString("ciphertext", Convert.ToBase64String(Ciphertext));
                json.WriteString("tag", Convert.ToBase64String(Tag));
            }
            json.WriteString("created", Created);
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    /// <summary>Reads and bounds the seal at <paramref name="path"/>.</summary>
    /// <exception cref="KmsException"><see cref="KmsError.NotInitialized"/> when there is no file,
    /// <see cref="KmsError.InvalidArgument"/> when it is malformed or out of bounds.</exception>
    public static RootSealFile Read(string path, SealOptions options)
    {
        path = Path.GetFullPath(path);
        if (!File.Exists(path))
            throw new KmsException(KmsError.NotInitialized, $"There is no root seal at {path}; initialize the key manager first.");
        RootSealFile seal;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            if (root.GetProperty("format").GetString() != FormatName)
                throw Malformed(path, "it is not a Coffre root seal");
            var version = root.GetProperty("version").GetInt32();
            if (version is not (1 or 2))
                throw Malformed(path, $"seal version {version} is not supported");
            var kind = version == 1 ? "passphrase" : root.GetProperty("protection").GetString();
            var deploymentId = root.GetProperty("deployment_id").GetString() ?? throw Malformed(path, "no deployment id");
            var created = root.TryGetProperty("created", out var c) ? c.GetString() ?? "" : "";
            if (kind == "pkcs11")
                return new RootSealFile
                {
                    Version = version, DeploymentId = deploymentId, Kind = RootKind.Pkcs11, Module = root.GetProperty("module").GetString(),
                    TokenLabel = root.GetProperty("token_label").GetString(), KeyLabel = root.GetProperty("key_label").GetString(),
                    Nonce = [], Ciphertext = [], Tag = [], Created = created,
                };
            var common = (DeploymentId: deploymentId, Nonce: Base64(root, "nonce"), Ciphertext: Base64(root, "ciphertext"), Tag: Base64(root, "tag"),
                Created: created);
            seal = kind switch
            {
                "passphrase" => new RootSealFile
                {
                    Version = version, DeploymentId = common.DeploymentId, Kind = RootKind.Passphrase,
                    Kdf = root.GetProperty("kdf").GetString(), Iterations = root.GetProperty("iterations").GetInt32(), Salt = Base64(root, "salt"),
                    MemoryKib = root.TryGetProperty("memory_kib", out var m) ? m.GetInt32() : 0,
                    Parallelism = root.TryGetProperty("parallelism", out var p) ? p.GetInt32() : 0,
                    Nonce = common.Nonce, Ciphertext = common.Ciphertext, Tag = common.Tag, Created = common.Created,
                },
                "shamir" => new RootSealFile
                {
                    Version = version, DeploymentId = common.DeploymentId, Kind = RootKind.Shamir,
                    Threshold = root.GetProperty("threshold").GetInt32(),
                    ShareDigests = [.. root.GetProperty("share_digests").EnumerateArray().Select(d => Convert.FromBase64String(d.GetString() ?? throw new FormatException()))],
                    Nonce = common.Nonce, Ciphertext = common.Ciphertext, Tag = common.Tag, Created = common.Created,
                },
                _ => throw Malformed(path, $"protection '{kind}' is not supported"),
            };
            if (seal.Kind == RootKind.Shamir && root.GetProperty("shares").GetInt32() != seal.ShareDigests.Count)
                throw Malformed(path, "'shares' does not match the number of share digests");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or FormatException or InvalidOperationException or NullReferenceException)
        {
            throw Malformed(path, "it could not be parsed");
        }
        if (seal.Nonce.Length != 12 || seal.Ciphertext.Length != 32 || seal.Tag.Length != 16)
            throw Malformed(path, "a field has the wrong length");
        switch (seal.Kind)
        {
            case RootKind.Passphrase:
                // A version 1 file is PBKDF2 only; Argon2id came with version 2.
                if (seal.Kdf == Pbkdf2) options.CheckIterations(seal.Iterations, path);
                else if (seal.Kdf == Argon2id && seal.Version >= 2) options.CheckArgon2(seal.MemoryKib, seal.Iterations, seal.Parallelism, path);
                else throw Malformed(path, "unsupported key derivation function");
                if (seal.Salt!.Length is < 16 or > 32) throw Malformed(path, "a field has the wrong length");
                break;
            case RootKind.Shamir:
                try
                {
                    ShamirSecret.CheckCounts(seal.ShareDigests.Count, seal.Threshold);
                }
                catch (KmsException)
                {
                    throw Malformed(path, $"{seal.Threshold} of {seal.ShareDigests.Count} shares is out of bounds");
                }
                if (seal.ShareDigests.Any(d => d.Length != 32)) throw Malformed(path, "a share digest has the wrong length");
                break;
        }
        return seal;
    }

    /// <summary>A base64 member of the seal; a JSON null is malformed like a missing member (not an ArgumentNullException).</summary>
    private static byte[] Base64(JsonElement seal, string name) =>
        Convert.FromBase64String(seal.GetProperty(name).GetString() ?? throw new FormatException($"'{name}' is null."));

    internal static KmsException Malformed(string path, string why) =>
        new(KmsError.InvalidArgument, $"The root seal {path} is malformed: {why}.");
}
