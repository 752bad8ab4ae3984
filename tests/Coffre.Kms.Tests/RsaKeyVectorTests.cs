using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Coffre.Kms.Keys;
using Coffre.Kms.Root;
using Microsoft.Data.Sqlite;

namespace Coffre.Kms.Tests;

/// <summary>
/// testdata/vectors/rsa-keys-v1.json (docs/format.md §6.2, RSA keys): the sealed private key of each version of an RSA
/// key as keys.db stores it, with the root key that opens it, the version's public key, an RSA-OAEP ciphertext it
/// decrypts, and sealed keys presented under another version or key, or altered, which must be refused. The seals are
/// random (RSA key generation, nonces), so COFFRE_WRITE_VECTORS=1 writes a new file; every run also makes a fresh one from
/// a real deployment. tools/verify_rsa_keys.py, written from docs/format.md alone with python3-cryptography, checks both.
/// </summary>
public sealed class RsaKeyVectorTests
{
    private static string VectorPath => Path.Combine(Tools.RepositoryRoot, "testdata", "vectors", "rsa-keys-v1.json");

    private static readonly byte[] Plaintext = Encoding.UTF8.GetBytes("a data key wrapped by a DKE client, é");

    /// <summary>A vector from a real deployment: an RSA_2048 key rotated once, so that it has two sealed key pairs.</summary>
    private static string Generate()
    {
        using var env = new TestEnvironment();
        var keys = env.Initialize();
        var key = keys.CreateKey("vector-rsa", "RSA vector key", KeyManager.SystemPrincipal, spec: KeySpec.Rsa2048, usage: KeyUsage.EncryptDecrypt);
        var made = new List<(int Version, byte[] PublicKey, byte[] Ciphertext)>();
        for (var i = 0; i < 2; i++)
        {
            if (i > 0) keys.RotateKey(key.Id, KeyManager.SystemPrincipal);
            var publicKey = keys.GetPublicKey(key.Id, KeyManager.SystemPrincipal);
            var ciphertext = keys.EncryptAsymmetric(key.Id, Plaintext, AsymmetricEncryption.RsaesOaepSha256, KeyManager.SystemPrincipal);
            Assert.Equal(publicKey.KeyVersion, ciphertext.KeyVersion);
            made.Add((publicKey.KeyVersion, publicKey.SubjectPublicKeyInfo, ciphertext.Ciphertext));
        }
        var deploymentId = keys.DeploymentId;
        keys.Dispose();

        var material = Materials(env.DbPath, key.Id);
        var seal = RootSealFile.Read(env.SealPath, env.Options.Seal);
        var sealKey = new byte[32];
        PassphraseKdf.Derive(seal, TestEnvironment.Passphrase, sealKey);
        var rootKey = new byte[32];
        Assert.True(seal.TryOpen(sealKey, rootKey));

        var tampered = (byte[])material[1].Clone();
        tampered[^1] ^= 0x01;
        var vector = new JsonObject
        {
            ["description"] = "Coffre RSA keys: each version's private key sealed under a root-wrapped version key (docs/format.md §6.2), " +
                "its public key (SubjectPublicKeyInfo, DER) and an RSAES_OAEP_SHA_256 ciphertext of plaintext under it",
            ["root_key"] = Convert.ToHexStringLower(rootKey),
            ["deployment_id"] = deploymentId,
            ["key_id"] = key.Id,
            ["key_spec"] = "RSA_2048",
            ["plaintext"] = Convert.ToHexStringLower(Plaintext),
            ["versions"] = new JsonArray([.. made.Select(m => (JsonNode)new JsonObject
            {
                ["version"] = m.Version,
                ["material"] = Convert.ToHexStringLower(material[m.Version]),
                ["public_key"] = Convert.ToHexStringLower(m.PublicKey),
                ["oaep_sha256_ciphertext"] = Convert.ToHexStringLower(m.Ciphertext),
            })]),
            ["invalid"] = new JsonArray(
                Invalid("version 1's sealed key presented as version 2's", key.Id, 2, material[1]),
                Invalid("version 1's sealed key presented under another key id", "00000000-0000-4000-8000-000000000000", 1, material[1]),
                Invalid("last byte of the private key's tag flipped", key.Id, 1, tampered)),
        };
        return vector.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    private static JsonObject Invalid(string description, string keyId, int version, byte[] material) => new()
    {
        ["description"] = description, ["key_id"] = keyId, ["version"] = version, ["material"] = Convert.ToHexStringLower(material),
    };

    /// <summary>The material column of each version of the key, as stored.</summary>
    private static Dictionary<int, byte[]> Materials(string dbPath, string keyId)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = dbPath, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT version, material FROM key_versions WHERE key_id = $id";
        cmd.Parameters.AddWithValue("$id", keyId);
        using var rd = cmd.ExecuteReader();
        var result = new Dictionary<int, byte[]>();
        while (rd.Read()) result[rd.GetInt32(0)] = (byte[])rd[1];
        return result;
    }

    private static void AssertVerifies(string path)
    {
        const string python = "/usr/bin/python3";
        Assert.True(File.Exists(python), $"{python} is missing: install python3 and python3-cryptography (scripts/test.sh does)");
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(Tools.RepositoryRoot, "tools", "verify_rsa_keys.py"));
        psi.ArgumentList.Add(path);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, stdout + stderr);
        Assert.Matches(@"\d+ passed, 0 failed", stdout);
    }

    [Fact]
    public void Sealed_rsa_keys_open_with_the_independent_python_verifier()
    {
        if (Environment.GetEnvironmentVariable("COFFRE_WRITE_VECTORS") == "1") File.WriteAllText(VectorPath, Generate());
        AssertVerifies(VectorPath);
        var fresh = Path.Combine(Path.GetTempPath(), $"coffre-rsa-vector-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(fresh, Generate());
            AssertVerifies(fresh);
        }
        finally
        {
            File.Delete(fresh);
        }
    }
}
