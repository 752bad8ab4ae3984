using System.Text.Json;
using Coffre.Crypto;
using Coffre.Objects.Encryption;

namespace Coffre.Objects.Tests;

/// <summary>
/// testdata/vectors/sse-v1.json (docs/format.md §5.3), written by tools/verify_sse_vectors.py, an independent
/// Python implementation: C# derives the same content keys and key checks and decrypts the Python streams.
/// </summary>
public sealed class SseVectorTests
{
    private static JsonElement Load()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Coffre.sln")))
                return JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.FullName, "testdata", "vectors", "sse-v1.json"))).RootElement;
        throw new InvalidOperationException("Repository root (Coffre.sln) not found above " + AppContext.BaseDirectory);
    }

    private static byte[]? Hex(JsonElement e, string name) =>
        e.GetProperty(name).ValueKind == JsonValueKind.Null ? null : Convert.FromHexString(e.GetProperty(name).GetString()!);

    private static CustomerKey? Customer(JsonElement e) => Hex(e, "customer_key") is { } k ? new CustomerKey(k) : null;

    [Fact]
    public void Content_keys_are_the_specified_derivation()
    {
        foreach (var v in Load().GetProperty("content_keys").EnumerateArray())
        {
            using var customer = Customer(v);
            Assert.Equal(Hex(v, "content_key"), ContentKey.Derive(Hex(v, "data_key"), customer, v.GetProperty("context").GetString()));
        }
    }

    [Fact]
    public void The_customer_key_check_is_the_specified_salted_hmac()
    {
        foreach (var v in Load().GetProperty("key_checks").EnumerateArray())
        {
            using var customer = Customer(v)!;
            Assert.Equal(Hex(v, "hmac"), CustomerKeyCheck.Compute(Hex(v, "salt")!, customer));
        }
    }

    [Fact]
    public void Streams_decrypt_with_both_keys_and_never_with_the_data_key_alone()
    {
        foreach (var v in Load().GetProperty("objects").EnumerateArray())
        {
            var ad = ObjectBinding.StreamAssociatedData(v.GetProperty("bucket").GetString()!, v.GetProperty("name").GetString()!,
                v.GetProperty("key_id").GetString()!, v.GetProperty("part").GetInt32());
            var dataKey = Hex(v, "data_key")!;
            using var customer = Customer(v);
            var context = v.GetProperty("context").GetString();
            Assert.Equal(Hex(v, "plaintext"), Decrypt(Hex(v, "stream")!, ContentKey.Derive(dataKey, customer, context), ad));
            Assert.Throws<AuthenticationFailedException>(() => Decrypt(Hex(v, "stream")!, dataKey, ad));
        }
    }

    /// <summary>A whole stream's plaintext (throws <see cref="AuthenticationFailedException"/> under a wrong key).</summary>
    internal static byte[] Decrypt(byte[] stream, byte[] key, byte[] ad)
    {
        using var input = new MemoryStream(stream);
        using var decrypting = new DecryptingStream(input, key, ad);
        using var output = new MemoryStream();
        decrypting.CopyTo(output);
        return output.ToArray();
    }
}
