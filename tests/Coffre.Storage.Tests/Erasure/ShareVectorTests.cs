using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Coffre.Storage.Erasure;
using Coffre.Storage.Placement;
using Coffre.Storage.Tests.Placement;
using Coffre.TestSupport;

namespace Coffre.Storage.Tests.Erasure;

/// <summary>
/// testdata/vectors/erasure-v1.json (docs/format.md, "Erasure-coded shares"): blobs and the share blobs Coffre writes
/// for them, with small blocks so that each has several stripes. They are deterministic: the test regenerates them and
/// compares (COFFRE_WRITE_VECTORS=1 rewrites the file), then runs tools/verify_erasure.py, which encodes every stripe
/// with zfec and rebuilds each blob from every K-subset of its shares.
/// </summary>
public sealed class ShareVectorTests
{
    private static string VectorPath => Path.Combine(Tools.FindRepositoryRoot()!, "testdata", "vectors", "erasure-v1.json");

    private static readonly (string Name, int K, int N, int Block, int Size, bool LengthKnown)[] Cases =
    [
        ("2-of-3, four stripes, short last stripe", 2, 3, 16, 100, true),
        ("3-of-5, whole stripes", 3, 5, 16, 96, true),
        ("4-of-6, length unknown at write time", 4, 6, 8, 37, false),
        ("1-of-2, one byte", 1, 2, 16, 1, true),
        ("2-of-3, empty blob", 2, 3, 16, 0, true),
    ];

    private static byte[] Bytes(string label, int length)
    {
        var result = new byte[length];
        for (var i = 0; i * 32 < length; i++)
            SHA256.HashData(Encoding.ASCII.GetBytes($"{label}/{i}")).AsSpan(0, Math.Min(32, length - i * 32)).CopyTo(result.AsSpan(i * 32));
        return result;
    }

    private static async Task<string> GenerateAsync()
    {
        var vectors = new JsonArray();
        foreach (var (name, k, n, block, size, lengthKnown) in Cases)
        {
            using var dir = new TempDirectory();
            var backends = Enumerable.Range(0, n).Select(i => ($"d{i}", (IBlobStore)new LocalDiskBlobStore(Path.Combine(dir.Path, $"d{i}")))).ToArray();
            using var store = ErasureStores.Create(k, n, backends);
            var blob = Bytes($"coffre-erasure-vector/{name}", size);
            await store.Erasure.WriteSharesAsync(new ReedSolomon(k, n), block, "objects/v", new MemoryStream(blob), lengthKnown ? size : null,
                new Dictionary<string, string>(), backends.Select((b, i) => (i, b.Item1)).ToList(), n, CancellationToken.None);
            var shares = new JsonArray();
            foreach (var (backend, _) in backends)
            {
                await using var read = await store.Backend(backend).GetAsync("objects/v");
                shares.Add(Convert.ToHexStringLower(await TestData.ReadAllAsync(read)));
            }
            vectors.Add(new JsonObject
            {
                ["name"] = name, ["k"] = k, ["n"] = n, ["block_length"] = block, ["length_known"] = lengthKnown,
                ["blob"] = Convert.ToHexStringLower(blob), ["shares"] = shares,
            });
        }
        var doc = new JsonObject
        {
            ["description"] = "Coffre erasure-coded share blobs (docs/format.md, \"Erasure-coded shares\"): share i of each blob, zfec's code",
            ["vectors"] = vectors,
        };
        return doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    [Fact]
    public async Task The_committed_vectors_are_what_coffre_writes_and_zfec_decodes_them()
    {
        var fresh = await GenerateAsync();
        if (Environment.GetEnvironmentVariable("COFFRE_WRITE_VECTORS") == "1") await File.WriteAllTextAsync(VectorPath, fresh);
        Assert.Equal(fresh, await File.ReadAllTextAsync(VectorPath));

        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(Path.Combine(Tools.FindRepositoryRoot()!, "tools", "verify_erasure.py"));
        psi.ArgumentList.Add(VectorPath);
        using var p = Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        var err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, "verify_erasure.py: " + err);
        Assert.Equal(Cases.Length, output.Split('\n').Count(l => l.StartsWith("ok ", StringComparison.Ordinal)));
    }
}
