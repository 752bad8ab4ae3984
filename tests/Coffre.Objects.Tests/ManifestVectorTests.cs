using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Coffre.Crypto;
using Coffre.Objects.Catalog;
using Coffre.Objects.Keys;
using Coffre.Objects.Manifests;
using Coffre.Objects.Versions;
using Coffre.TestSupport;

namespace Coffre.Objects.Tests;

/// <summary>
/// testdata/vectors/manifest-v1.json: a manifest blob (docs/format.md §12), the key encryption key its data key is
/// wrapped under, and altered copies that must be refused. C# opens it here; tools/verify_manifest_vectors.py opens it
/// with python3-cryptography alone. Stream salts are random, so COFFRE_WRITE_VECTORS=1 writes a new file.
/// </summary>
public sealed class ManifestVectorTests
{
    private static string VectorPath => Path.Combine(Tools.FindRepositoryRoot()!, "testdata", "vectors", "manifest-v1.json");
    private const string KeyId = "6f1d2c1e-0000-4000-8000-00000000c0ff";
    private const string Blob = "objects/0123456789abcdef0123456789abcdef.manifest";

    [Fact]
    public async Task The_committed_manifest_opens_and_its_altered_copies_are_refused()
    {
        if (Environment.GetEnvironmentVariable("COFFRE_WRITE_VECTORS") == "1") File.WriteAllText(VectorPath, Generate());
        var vector = JsonNode.Parse(File.ReadAllText(VectorPath))!;
        var kek = Convert.FromHexString(vector["kek"]!.GetValue<string>());
        var manifest = await OpenAsync(Convert.FromHexString(vector["manifest"]!.GetValue<string>()), kek, vector["blob_key"]!.GetValue<string>());
        Assert.Equal(Expected().Name, manifest.Name);
        Assert.Equal(Expected().Parts[0].Header, manifest.Parts[0].Header);
        Assert.Equal(vector["plaintext"]!.GetValue<string>(), Encoding.UTF8.GetString(await PlaintextAsync(vector, kek)));
        foreach (var invalid in vector["invalid"]!.AsArray())
            await Assert.ThrowsAsync<AuthenticationFailedException>(() => OpenAsync(
                Convert.FromHexString(invalid!["manifest"]!.GetValue<string>()), kek, invalid["blob_key"]!.GetValue<string>()));
    }

    private static async Task<ObjectManifest> OpenAsync(byte[] blob, byte[] kek, string blobKey) =>
        await ObjectManifest.OpenAsync(new MemoryStream(blob), wrapped =>
        {
            var key = new byte[32];
            KeyWrap.Unwrap(kek, wrapped.Wrapped, wrapped.KeyId, wrapped.KeyVersion, Context(blobKey), key);
            return Task.FromResult(key);
        });

    private static async Task<byte[]> PlaintextAsync(JsonNode vector, byte[] kek)
    {
        var input = new MemoryStream(Convert.FromHexString(vector["manifest"]!.GetValue<string>()));
        var envelope = await FileEnvelope.ReadAsync(input);
        var key = new byte[32];
        KeyWrap.Unwrap(kek, envelope.WrappedKey, envelope.KeyId, envelope.KeyVersion, Context(vector["blob_key"]!.GetValue<string>()), key);
        using var plain = new MemoryStream();
        await new DecryptingStream(input, key, envelope.Bytes).CopyToAsync(plain);
        return plain.ToArray();
    }

    /// <summary>§3's canonical encoding of {"coffre:manifest": blob key}.</summary>
    private static byte[] Context(string blobKey)
    {
        var name = Encoding.UTF8.GetBytes(ObjectManifest.ContextKey);
        var value = Encoding.UTF8.GetBytes(blobKey);
        var result = new byte[12 + name.Length + value.Length];
        BinaryPrimitives.WriteUInt32BigEndian(result, 1);
        BinaryPrimitives.WriteUInt32BigEndian(result.AsSpan(4), (uint)name.Length);
        name.CopyTo(result, 8);
        BinaryPrimitives.WriteUInt32BigEndian(result.AsSpan(8 + name.Length), (uint)value.Length);
        value.CopyTo(result, 12 + name.Length);
        return result;
    }

    private static ObjectManifest Expected() => new("photos", KeyId, DateTimeOffset.Parse("2026-11-29T10:00:00Z"), BucketVersioning.Enabled,
        "2026/été/chat.jpg", "7ffffe6d3c8e4b1f0123456789abcdef", DateTimeOffset.Parse("2026-11-29T10:05:00.1234567Z"), 5, "5d41402abc4b2a76b9719d911017c592",
        new WrappedKeyRef(KeyId, 2, Enumerable.Range(0, 61).Select(i => (byte)i).ToArray()), [1, 2, 3],
        [new StoredPart(0, "objects/0123456789abcdef0123456789abcdef", 5, 93, Enumerable.Range(0, 72).Select(i => (byte)(i * 3)).ToArray(), "5d41402abc4b2a76b9719d911017c592", null)]);

    private static string Generate()
    {
        var kek = Enumerable.Range(0, 32).Select(i => (byte)(0xA0 + i)).ToArray();
        var dek = Enumerable.Range(0, 32).Select(i => (byte)(0x10 + i)).ToArray();
        var wrapped = new WrappedKeyRef(KeyId, 3, KeyWrap.Wrap(kek, dek, KeyId, 3, Context(Blob)));
        var blob = Expected().Seal(wrapped, dek);
        var envelopeLength = FileEnvelope.Encode(KeyId, 3, wrapped.Wrapped).Length;
        var tampered = (byte[])blob.Clone();
        tampered[envelopeLength + 72 + 5] ^= 1;
        var otherKey = (byte[])blob.Clone();
        otherKey[envelopeLength - 1] ^= 1;
        var node = new JsonObject
        {
            ["generator"] = "tests/Coffre.Objects.Tests/ManifestVectorTests.cs: COFFRE_WRITE_VECTORS=1 dotnet test tests/Coffre.Objects.Tests --filter ManifestVectorTests",
            ["kek"] = Convert.ToHexStringLower(kek),
            ["key_id"] = KeyId,
            ["key_version"] = 3,
            ["data_key"] = Convert.ToHexStringLower(dek),
            ["blob_key"] = Blob,
            ["manifest"] = Convert.ToHexStringLower(blob),
            ["plaintext"] = Encoding.UTF8.GetString(Decrypt(blob, dek, envelopeLength)),
            ["invalid"] = new JsonArray(
                new JsonObject { ["why"] = "a byte of the sealed JSON flipped", ["blob_key"] = Blob, ["manifest"] = Convert.ToHexStringLower(tampered) },
                new JsonObject { ["why"] = "a byte of the wrapped data key flipped", ["blob_key"] = Blob, ["manifest"] = Convert.ToHexStringLower(otherKey) },
                new JsonObject { ["why"] = "moved to another object's manifest key", ["blob_key"] = "objects/fedcba9876543210fedcba9876543210.manifest", ["manifest"] = Convert.ToHexStringLower(blob) }),
        };
        return node.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }

    private static byte[] Decrypt(byte[] blob, byte[] dek, int envelopeLength)
    {
        using var plain = new MemoryStream();
        new DecryptingStream(new MemoryStream(blob, envelopeLength, blob.Length - envelopeLength), dek, blob.AsSpan(0, envelopeLength)).CopyTo(plain);
        return plain.ToArray();
    }
}
