using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Coffre.Kms.Audit;

namespace Coffre.Kms.Tests;

/// <summary>
/// testdata/vectors/audit-checkpoints-v2.json: a chain of checkpoints (one unchained, three chained) with their exact
/// signed bytes, digests and published lines, and chains that must be refused. C# checks it here; the independent
/// tools/verify_checkpoint_vectors.py, written from docs/format.md §9, checks it with Debian's python3-cryptography.
/// ECDSA signatures are randomised, so the file is not regenerated on every run: COFFRE_WRITE_VECTORS=1 writes a new one.
/// </summary>
public sealed class AuditCheckpointVectorTests
{
    private static string Root => Tools.RepositoryRoot;
    private static string VectorPath => Path.Combine(Root, "testdata", "vectors", "audit-checkpoints-v2.json");

    [Fact]
    public void The_committed_vector_verifies_in_csharp_and_its_broken_chains_are_refused()
    {
        if (Environment.GetEnvironmentVariable("COFFRE_WRITE_VECTORS") == "1") File.WriteAllText(VectorPath, Generate());
        var vector = JsonNode.Parse(File.ReadAllText(VectorPath))!;
        var publicKey = Convert.FromBase64String(vector["public_key"]!.GetValue<string>());
        Assert.Equal(vector["fingerprint"]!.GetValue<string>(), AuditCheckpoint.Fingerprint(publicKey));
        var chain = vector["checkpoints"]!.AsArray().Select(n => FromVector(n!)).ToList();
        AuditCheckpoint? before = null;
        foreach (var (c, node) in chain.Zip(vector["checkpoints"]!.AsArray()))
        {
            Assert.Equal(node!["signed"]!.GetValue<string>(), Convert.ToHexStringLower(c.SignedBytes()));
            Assert.Equal(node["digest"]!.GetValue<string>(), Convert.ToHexStringLower(c.Digest()));
            Assert.True(c.VerifySignature(publicKey));
            if (c.Version == AuditCheckpoint.Chained)
            {
                Assert.Null(c.ChainBreak(before));
                var line = node["published"]!.GetValue<string>();
                Assert.Equal(line, AuditCheckpointDocument.Write(new PublishedCheckpoint(c, publicKey)));
                Assert.Equal(c.Digest(), AuditCheckpointDocument.TryRead(line)!.Checkpoint.Digest());
            }
            before = c;
        }
        foreach (var invalid in vector["invalid_chains"]!.AsArray())
        {
            var broken = invalid!["checkpoints"]!.AsArray().Select(n => FromVector(n!)).ToList();
            Assert.False(ChainVerifies(broken, publicKey), invalid["description"]!.GetValue<string>());
        }
    }

    [Fact]
    public void The_independent_python_verifier_accepts_the_vector()
    {
        const string python = "/usr/bin/python3";
        Assert.True(File.Exists(python), $"{python} is missing: install python3 and python3-cryptography (scripts/test.sh does)");
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(Root, "tools", "verify_checkpoint_vectors.py"));
        psi.ArgumentList.Add(VectorPath);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, stdout + stderr);
        Assert.Matches(@"\d+ passed, 0 failed", stdout);
    }

    private static bool ChainVerifies(IReadOnlyList<AuditCheckpoint> chain, byte[] publicKey)
    {
        AuditCheckpoint? before = null;
        foreach (var c in chain)
        {
            if (!c.VerifySignature(publicKey) || (c.Version == AuditCheckpoint.Chained && c.ChainBreak(before) is not null)) return false;
            before = c;
        }
        return true;
    }

    private static AuditCheckpoint FromVector(JsonNode n) => new(n["version"]!.GetValue<int>(), n["number"]?.GetValue<long>() ?? 0,
        n["sequence"]!.GetValue<long>(), Convert.FromHexString(n["hash"]!.GetValue<string>()),
        Convert.FromHexString(n["previous"]?.GetValue<string>() ?? ""), n["time"]!.GetValue<string>(), Convert.FromHexString(n["signature"]!.GetValue<string>()));

    /// <summary>A fresh vector: an unchained checkpoint of record 3, then chained ones of records 7, 7 (a quiet interval) and 12.</summary>
    private static string Generate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var publicKey = key.ExportSubjectPublicKeyInfo();
        AuditCheckpoint Sign(AuditCheckpoint c) => c with { Signature = key.SignData(c.SignedBytes(), HashAlgorithmName.SHA256) };
        byte[] RecordHash(long seq) => SHA256.HashData(Encoding.UTF8.GetBytes($"record {seq}"));
        var v1 = Sign(new AuditCheckpoint(AuditCheckpoint.Unchained, 0, 3, RecordHash(3), [], "2026-11-29T09:00:00.0000000Z", []));
        var chain = new List<AuditCheckpoint> { v1 };
        foreach (var (seq, time) in new[] { (7L, "2026-11-29T09:01:00.0000000Z"), (7L, "2026-11-29T09:02:00.0000000Z"), (12L, "2026-11-29T09:03:00.1234567Z") })
            chain.Add(Sign(new AuditCheckpoint(AuditCheckpoint.Chained, chain.Count, seq, RecordHash(seq), chain[^1].Digest(), time, [])));
        JsonObject Node(AuditCheckpoint c)
        {
            var o = new JsonObject { ["version"] = c.Version };
            if (c.Version == AuditCheckpoint.Chained) o["number"] = c.Number;
            o["sequence"] = c.Sequence;
            o["hash"] = Convert.ToHexStringLower(c.Hash);
            if (c.Version == AuditCheckpoint.Chained) o["previous"] = Convert.ToHexStringLower(c.Previous);
            o["time"] = c.TimeText;
            o["signature"] = Convert.ToHexStringLower(c.Signature);
            o["signed"] = Convert.ToHexStringLower(c.SignedBytes());
            o["digest"] = Convert.ToHexStringLower(c.Digest());
            if (c.Version == AuditCheckpoint.Chained) o["published"] = AuditCheckpointDocument.Write(new PublishedCheckpoint(c, publicKey));
            return o;
        }
        var resignedAfterRemoval = Sign(chain[3] with { Number = 2 }); // #2 removed, #3 renumbered and re-signed: still names #2's digest
        var replaced = Sign(chain[2] with { TimeText = "2026-11-29T09:02:30.0000000Z" });
        var vector = new JsonObject
        {
            ["description"] = "Audit checkpoints (docs/format.md §9): one unchained (v1), three chained (v2). Record hashes are SHA-256(\"record <seq>\").",
            ["public_key"] = Convert.ToBase64String(publicKey),
            ["fingerprint"] = AuditCheckpoint.Fingerprint(publicKey),
            ["checkpoints"] = new JsonArray([.. chain.Select(c => (JsonNode)Node(c))]),
            ["invalid_chains"] = new JsonArray(
                Invalid("checkpoint #2 removed", chain[0], chain[1], chain[3]),
                Invalid("checkpoint #2 removed, #3 renumbered #2 and validly signed (by a key holder)", chain[0], chain[1], resignedAfterRemoval),
                Invalid("checkpoint #2 replaced by another validly signed one", chain[0], chain[1], replaced, chain[3]),
                Invalid("the unchained checkpoint removed", chain[1], chain[2], chain[3]),
                Invalid("checkpoint #3 with a modified record hash", chain[0], chain[1], chain[2], chain[3] with { Hash = RecordHash(11) })),
        };
        return vector.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";

        JsonObject Invalid(string description, params AuditCheckpoint[] cs) =>
            new() { ["description"] = description, ["checkpoints"] = new JsonArray([.. cs.Select(c => (JsonNode)Node(c))]) };
    }
}

internal static class Tools
{
    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Coffre.sln"))) return dir.FullName;
            throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
        }
    }
}
