using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Coffre.Kms.Keys;
using Coffre.Kms.Root;

namespace Coffre.Kms.Tests.Root;

/// <summary>
/// testdata/vectors/root-seals-v2.json (docs/format.md §6.5): splits with their coefficients and share texts, a Shamir
/// root.seal with its shares and root key, and shares that must be refused. The splits are deterministic and checked
/// against a fresh computation; the seal has a random nonce, so COFFRE_WRITE_VECTORS=1 writes a new file. The independent
/// tools/verify_root_seals.py, written from docs/format.md, recombines the shares and opens the seal with python3-cryptography.
/// </summary>
public sealed class RootSealVectorTests
{
    private static string VectorPath => Path.Combine(Tools.RepositoryRoot, "testdata", "vectors", "root-seals-v2.json");

    private static readonly (int K, int N)[] Cases = [(2, 2), (2, 3), (3, 5), (5, 8), (4, 255)];

    private static byte[] Bytes(string label, int length)
    {
        var result = new byte[length];
        for (var i = 0; i * 32 < length; i++)
            SHA256.HashData(Encoding.ASCII.GetBytes($"{label}/{i}")).AsSpan(0, Math.Min(32, length - i * 32)).CopyTo(result.AsSpan(i * 32));
        return result;
    }

    private static JsonArray Splits()
    {
        var splits = new JsonArray();
        foreach (var (k, n) in Cases)
        {
            var secret = Bytes($"coffre-shamir-vector/{k}-of-{n}/secret", 32);
            var coefficients = Bytes($"coffre-shamir-vector/{k}-of-{n}/coefficients", 32 * (k - 1));
            var values = ShamirSecret.Split(secret, n, k, coefficients);
            splits.Add(new JsonObject
            {
                ["threshold"] = k,
                ["shares_count"] = n,
                ["secret"] = Convert.ToHexStringLower(secret),
                ["coefficients"] = Convert.ToHexStringLower(coefficients),
                ["shares"] = new JsonArray([.. values.Select((v, i) => (JsonNode)new UnsealShare(k, (byte)(i + 1), v).Encode())]),
            });
        }
        return splits;
    }

    private static string Generate()
    {
        using var env = new TestEnvironment();
        var (keys, shares) = env.InitializeShamir(5, 3);
        keys.Dispose();
        var seal = RootSealFile.Read(env.SealPath, env.Options.Seal);
        var rootKey = OpenSeal(seal, shares.Take(3));
        // Invalid: one character changed (checksum), a value changed with its checksum recomputed (digest), a share of another seal.
        using var real = UnsealShare.Decode(shares[1]);
        var forgedValue = (byte[])real.Value.Clone();
        forgedValue[5] ^= 0x80;
        var typo = shares[0][..20] + (shares[0][20] == 'A' ? 'B' : 'A') + shares[0][21..];
        var vector = new JsonObject
        {
            ["description"] = "Coffre root seals: Shamir unseal shares and a Shamir root seal (docs/format.md §6.5), passphrase seals with Argon2id and PBKDF2 (§6.1)",
            ["splits"] = Splits(),
            ["root_seal"] = new JsonObject
            {
                ["file"] = JsonNode.Parse(File.ReadAllText(env.SealPath)),
                ["shares"] = new JsonArray([.. shares.Select(s => (JsonNode)s)]),
                ["root_key"] = Convert.ToHexStringLower(rootKey),
            },
            ["passphrase_seals"] = new JsonArray(PassphraseSeal(SealOptions.InsecureArgon2ForTests), PassphraseSeal(SealOptions.InsecureForTests)),
            ["invalid_shares"] = new JsonArray(
                new JsonObject { ["description"] = "a character changed: the checksum fails", ["share"] = typo },
                new JsonObject { ["description"] = "value changed, checksum recomputed: the seal's digest fails", ["share"] = new UnsealShare(3, real.Index, forgedValue).Encode() },
                new JsonObject { ["description"] = "a share of the split 3-of-5 above, not of this seal: the digest fails", ["share"] = Splits()[2]!["shares"]![1]!.GetValue<string>() }),
        };
        return vector.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    private const string VectorPassphrase = "correct horse battery staple, é";

    /// <summary>A passphrase seal (§6.1) with test-sized parameters, its passphrase and its root key.</summary>
    private static JsonObject PassphraseSeal(SealOptions options)
    {
        using var env = new TestEnvironment();
        using (SealedFileRoot.Initialize(env.SealPath, VectorPassphrase, options, env.Clock)) { }
        var seal = RootSealFile.Read(env.SealPath, options);
        return new JsonObject
        {
            ["passphrase"] = VectorPassphrase,
            ["file"] = JsonNode.Parse(File.ReadAllText(env.SealPath)),
            ["root_key"] = Convert.ToHexStringLower(OpenPassphraseSeal(seal, VectorPassphrase)),
        };
    }

    private static byte[] OpenPassphraseSeal(RootSealFile seal, string passphrase)
    {
        var sealKey = new byte[32];
        PassphraseKdf.Derive(seal, passphrase, sealKey);
        var rootKey = new byte[32];
        Assert.True(seal.TryOpen(sealKey, rootKey));
        return rootKey;
    }

    private static byte[] OpenSeal(RootSealFile seal, IEnumerable<string> texts)
    {
        var shares = texts.Select(UnsealShare.Decode).ToList();
        var sealKey = new byte[32];
        ShamirSecret.Combine([.. shares.Select(s => s.Index)], [.. shares.Select(s => s.Value)], sealKey);
        var rootKey = new byte[32];
        Assert.True(seal.TryOpen(sealKey, rootKey));
        return rootKey;
    }

    [Fact]
    public void The_committed_vectors_match_a_fresh_split_and_the_seal_opens_with_its_shares()
    {
        if (Environment.GetEnvironmentVariable("COFFRE_WRITE_VECTORS") == "1") File.WriteAllText(VectorPath, Generate());
        var vector = JsonNode.Parse(File.ReadAllText(VectorPath))!;
        Assert.Equal(Splits().ToJsonString(), vector["splits"]!.ToJsonString());
        foreach (var split in vector["splits"]!.AsArray())
        {
            var k = split!["threshold"]!.GetValue<int>();
            var shares = split["shares"]!.AsArray().Select(s => UnsealShare.Decode(s!.GetValue<string>())).ToList();
            var secret = new byte[32];
            ShamirSecret.Combine([.. shares.TakeLast(k).Select(s => s.Index)], [.. shares.TakeLast(k).Select(s => s.Value)], secret);
            Assert.Equal(split["secret"]!.GetValue<string>(), Convert.ToHexStringLower(secret));
        }
        foreach (var passphraseSeal in vector["passphrase_seals"]!.AsArray())
        {
            var file = Path.Combine(Path.GetTempPath(), $"coffre-vector-{Guid.NewGuid():N}.seal");
            File.WriteAllText(file, passphraseSeal!["file"]!.ToJsonString());
            try
            {
                var seal = RootSealFile.Read(file, SealOptions.InsecureForTests);
                Assert.Equal(passphraseSeal["root_key"]!.GetValue<string>(),
                    Convert.ToHexStringLower(OpenPassphraseSeal(seal, passphraseSeal["passphrase"]!.GetValue<string>())));
            }
            finally
            {
                File.Delete(file);
            }
        }
        var path = Path.Combine(Path.GetTempPath(), $"coffre-vector-{Guid.NewGuid():N}.seal");
        File.WriteAllText(path, vector["root_seal"]!["file"]!.ToJsonString());
        try
        {
            var seal = RootSealFile.Read(path, SealOptions.Default);
            var texts = vector["root_seal"]!["shares"]!.AsArray().Select(s => s!.GetValue<string>()).ToList();
            Assert.Equal(vector["root_seal"]!["root_key"]!.GetValue<string>(), Convert.ToHexStringLower(OpenSeal(seal, texts.Skip(2))));
            using var unsealer = new RootUnsealer(path, SealOptions.Default, TimeProvider.System);
            foreach (var invalid in vector["invalid_shares"]!.AsArray())
                Assert.Equal(KmsError.InvalidShare, Assert.Throws<KmsException>(() => unsealer.Submit(invalid!["share"]!.GetValue<string>(), out _)).Error);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_independent_python_verifier_accepts_the_vectors()
    {
        const string python = "/usr/bin/python3";
        Assert.True(File.Exists(python), $"{python} is missing: install python3 and python3-cryptography (scripts/test.sh does)");
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(Tools.RepositoryRoot, "tools", "verify_root_seals.py"));
        psi.ArgumentList.Add(VectorPath);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, stdout + stderr);
        Assert.Matches(@"\d+ passed, 0 failed", stdout);
    }
}
