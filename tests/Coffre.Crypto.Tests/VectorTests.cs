using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Coffre.Crypto.Tests;

/// <summary>
/// testdata/vectors/format-v1.json: checked here (C# decrypts and re-encrypts every vector) and by
/// tools/verify_vectors.py (independent Python implementation of docs/format.md).
/// The file is produced by <see cref="VectorGenerator"/>; <see cref="CommittedFileIsWhatTheGeneratorWrites"/>
/// regenerates it when COFFRE_WRITE_VECTORS=1.
/// </summary>
public class VectorTests
{
    internal static string VectorPath
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Coffre.sln")))
                    return Path.Combine(dir.FullName, "testdata", "vectors", "format-v1.json");
            throw new InvalidOperationException("Repository root (Coffre.sln) not found above " + AppContext.BaseDirectory);
        }
    }

    [Fact]
    public void CommittedFileIsWhatTheGeneratorWrites()
    {
        var generated = VectorGenerator.Generate();
        if (Environment.GetEnvironmentVariable("COFFRE_WRITE_VECTORS") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(VectorPath)!);
            File.WriteAllText(VectorPath, generated);
        }
        Assert.Equal(generated, File.ReadAllText(VectorPath));
    }

    private static JsonElement Load() => JsonDocument.Parse(File.ReadAllText(VectorPath)).RootElement;

    private static byte[] Hex(JsonElement e, string name) => Convert.FromHexString(e.GetProperty(name).GetString()!);

    [Fact]
    public void StreamVectorsDecryptAndReEncryptIdentically()
    {
        int count = 0;
        foreach (var v in Load().GetProperty("streams").EnumerateArray())
        {
            var dek = Hex(v, "dek");
            var ad = Hex(v, "ad");
            var salt = Hex(v, "salt");
            int e = v.GetProperty("e").GetInt32();
            var plaintext = TestData.Pattern(v.GetProperty("plaintext_length").GetInt64());
            Assert.Equal(v.GetProperty("plaintext_sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(plaintext)));

            var reencrypted = TestData.Encrypt(plaintext, e, ad, dek, salt);
            if (v.TryGetProperty("stream", out var streamHex))
            {
                var stream = Convert.FromHexString(streamHex.GetString()!);
                Assert.Equal(stream, reencrypted);
                Assert.Equal(plaintext, TestData.Decrypt(stream, ad, dek));
            }
            else
            {
                Assert.Equal(v.GetProperty("stream_length").GetInt64(), reencrypted.Length);
                Assert.Equal(v.GetProperty("stream_sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(reencrypted)));
                Assert.Equal(plaintext, TestData.Decrypt(reencrypted, ad, dek));
            }
            count++;
        }
        Assert.Equal(13, count);
    }

    [Fact]
    public void InvalidStreamVectorsFail()
    {
        int count = 0;
        foreach (var v in Load().GetProperty("invalid_streams").EnumerateArray())
        {
            var stream = Hex(v, "stream");
            Assert.Throws<AuthenticationFailedException>(() => TestData.Decrypt(stream, Hex(v, "ad"), Hex(v, "dek")));
            count++;
        }
        Assert.True(count >= 8);
    }

    [Fact]
    public void KeyWrapVectorsUnwrap()
    {
        var root = Load();
        foreach (var v in root.GetProperty("key_wraps").EnumerateArray())
        {
            var kek = Hex(v, "kek");
            string keyId = v.GetProperty("key_id").GetString()!;
            int version = v.GetProperty("key_version").GetInt32();
            var context = Hex(v, "context");
            Assert.Equal(Hex(v, "wrapped"), KeyWrap.Wrap(kek, Hex(v, "dek"), keyId, version, context, Hex(v, "nonce")));
            var dek = new byte[32];
            KeyWrap.Unwrap(kek, Hex(v, "wrapped"), keyId, version, context, dek);
            Assert.Equal(Hex(v, "dek"), dek);
        }
        foreach (var v in root.GetProperty("invalid_key_wraps").EnumerateArray())
        {
            var dek = new byte[32];
            Assert.Throws<AuthenticationFailedException>(() => KeyWrap.Unwrap(Hex(v, "kek"), Hex(v, "wrapped"),
                v.GetProperty("key_id").GetString()!, v.GetProperty("key_version").GetInt32(), Hex(v, "context"), dek));
        }
    }
}

/// <summary>Deterministic generator of testdata/vectors/format-v1.json.</summary>
internal static class VectorGenerator
{
    private const int E = 8;
    private const int S = 1 << E;
    private static readonly byte[] Dek = TestData.Derive("vector dek", 32);
    private static readonly byte[] Ad = "coffre-test-bucket/photos/cat.jpg"u8.ToArray();

    public static string Generate()
    {
        using var output = new MemoryStream();
        using (var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", "Coffre object format v1");
            w.WriteString("spec", "docs/format.md");
            w.WriteString("generator", "tests/Coffre.Crypto.Tests/VectorTests.cs: COFFRE_WRITE_VECTORS=1 dotnet test tests/Coffre.Crypto.Tests --filter VectorTests");
            w.WriteString("plaintext_rule", "plaintext[i] = i mod 251, for i from 0 to plaintext_length - 1");

            w.WriteStartArray("streams");
            foreach (var (adName, ad) in new[] { ("noad", Array.Empty<byte>()), ("ad", Ad) })
                foreach (var (sizeName, size) in new[] { ("empty", 0), ("1B", 1), ("S-1", S - 1), ("S", S), ("S+1", S + 1), ("3S+5", 3 * S + 5) })
                    WriteStream(w, $"e8-{sizeName}-{adName}", E, size, ad, full: true);
            WriteStream(w, "e16-150000B-ad", 16, 150_000, Ad, full: false);
            w.WriteEndArray();

            w.WriteStartArray("invalid_streams");
            var pt = TestData.Pattern(3 * S + 5);
            var good = Encrypt(pt, E, Ad, Salt("e8-3S+5-ad"));
            const int sealedSize = S + 16;
            WriteInvalid(w, "flipped-magic", Flip(good, 0), "header");
            WriteInvalid(w, "reserved-not-zero", Flip(good, 7), "header");
            WriteInvalid(w, "flipped-salt", Flip(good, 8), "header");
            WriteInvalid(w, "flipped-commitment", Flip(good, 40), "header");
            WriteInvalid(w, "wrong-ad", good, "header", ad: "coffre-test-bucket/photos/dog.jpg"u8.ToArray());
            WriteInvalid(w, "flipped-segment-1-ciphertext", Flip(good, 72 + sealedSize + 5), "segment 1");
            WriteInvalid(w, "flipped-segment-3-tag", Flip(good, good.Length - 1), "segment 3");
            WriteInvalid(w, "header-only", good[..72], "segment 0");
            WriteInvalid(w, "final-segment-removed", good[..(72 + 3 * sealedSize)], "segment 2 (sealed as non-final, read as final)");
            WriteInvalid(w, "cut-inside-segment-1", good[..(72 + sealedSize + 100)], "segment 1");
            WriteInvalid(w, "byte-appended", [.. good, 0], "segment 3");
            var swapped = (byte[])good.Clone();
            good.AsSpan(72, sealedSize).CopyTo(swapped.AsSpan(72 + sealedSize));
            good.AsSpan(72 + sealedSize, sealedSize).CopyTo(swapped.AsSpan(72));
            WriteInvalid(w, "segments-0-and-1-swapped", swapped, "segment 0");
            var otherHeader = (byte[])good.Clone();
            Encrypt(pt, E, Ad, Salt("other stream")).AsSpan(0, 72).CopyTo(otherHeader);
            WriteInvalid(w, "header-of-another-stream", otherHeader, "segment 0 (the header verifies, the segment key differs)");
            WriteInvalid(w, "empty-final-segment-after-full-segment", ForgeEmptyFinal(), "length (segment 1): only the empty plaintext has an empty segment");
            w.WriteEndArray();

            var kek = TestData.Derive("vector kek", 32);
            var nonce = TestData.Derive("vector wrap nonce", 12);
            var context = "coffre-test-bucket/photos/cat.jpg"u8.ToArray();
            var wrapped = KeyWrap.Wrap(kek, Dek, "alpha", 7, context, nonce);
            w.WriteStartArray("key_wraps");
            WriteWrap(w, "wrap", kek, nonce, "alpha", 7, context, wrapped, null);
            w.WriteEndArray();
            w.WriteStartArray("invalid_key_wraps");
            WriteWrap(w, "flipped-tag", kek, nonce, "alpha", 7, context, Flip(wrapped, 60), "tag");
            WriteWrap(w, "other-key-version", kek, nonce, "alpha", 8, context, wrapped, "key version");
            WriteWrap(w, "other-key-id", kek, nonce, "beta", 7, context, wrapped, "key id");
            WriteWrap(w, "other-context", kek, nonce, "alpha", 7, "coffre-test-bucket/photos/dog.jpg"u8.ToArray(), wrapped, "context");
            w.WriteEndArray();

            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(output.ToArray()) + "\n";
    }

    private static byte[] Salt(string name) => SHA256.HashData(Encoding.UTF8.GetBytes("coffre/v1/vector-salt/" + name));

    private static byte[] Encrypt(byte[] plaintext, int e, byte[] ad, byte[] salt) => TestData.Encrypt(plaintext, e, ad, Dek, salt);

    private static byte[] Flip(byte[] data, int index)
    {
        var copy = (byte[])data.Clone();
        copy[index] ^= 0x01;
        return copy;
    }

    private static void WriteStream(Utf8JsonWriter w, string name, int e, int size, byte[] ad, bool full)
    {
        var plaintext = TestData.Pattern(size);
        var salt = Salt(name);
        var stream = Encrypt(plaintext, e, ad, salt);
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteNumber("e", e);
        w.WriteString("dek", Convert.ToHexStringLower(Dek));
        w.WriteString("salt", Convert.ToHexStringLower(salt));
        w.WriteString("ad", Convert.ToHexStringLower(ad));
        w.WriteNumber("plaintext_length", size);
        w.WriteString("plaintext_sha256", Convert.ToHexStringLower(SHA256.HashData(plaintext)));
        w.WriteNumber("stream_length", stream.Length);
        w.WriteString("stream_sha256", Convert.ToHexStringLower(SHA256.HashData(stream)));
        if (full) w.WriteString("stream", Convert.ToHexStringLower(stream));
        w.WriteEndObject();
    }

    private static void WriteInvalid(Utf8JsonWriter w, string name, byte[] stream, string failsAt, byte[]? ad = null)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteString("dek", Convert.ToHexStringLower(Dek));
        w.WriteString("ad", Convert.ToHexStringLower(ad ?? Ad));
        w.WriteString("fails_at", failsAt);
        w.WriteString("stream", Convert.ToHexStringLower(stream));
        w.WriteEndObject();
    }

    private static void WriteWrap(Utf8JsonWriter w, string name, byte[] kek, byte[] nonce, string keyId, int version, byte[] context, byte[] wrapped, string? why)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteString("kek", Convert.ToHexStringLower(kek));
        w.WriteString("nonce", Convert.ToHexStringLower(nonce));
        w.WriteString("key_id", keyId);
        w.WriteNumber("key_version", version);
        w.WriteString("context", Convert.ToHexStringLower(context));
        if (why is null) w.WriteString("dek", Convert.ToHexStringLower(Dek));
        else w.WriteString("fails_because", why);
        w.WriteString("wrapped", Convert.ToHexStringLower(wrapped));
        w.WriteEndObject();
    }

    /// <summary>One full segment sealed as non-final, then an empty segment sealed as final: authentic but not canonical.</summary>
    private static byte[] ForgeEmptyFinal()
    {
        Span<byte> key = stackalloc byte[32];
        var header = StreamHeader.Create(E, Dek, Ad, Salt("forged"), key);
        using var cipher = new SegmentCipher(key);
        var first = new byte[S + 16];
        TestData.Pattern(S).CopyTo(first, 0);
        cipher.Seal(0, false, first, S);
        var last = new byte[16];
        cipher.Seal(1, true, last, 0);
        return [.. header.Bytes, .. first, .. last];
    }
}
