using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Coffre.Server.Xks;
using Coffre.TestSupport;

namespace Coffre.Server.Tests.Xks;

/// <summary>
/// testdata/vectors/xks-v1.json: the ciphertextMetadata, the AES-GCM associated data built from it and the caller's AAD,
/// the AES-256-GCM output and the integrity value, for fixed keys and nonces (docs/xks.md). The face's code reproduces
/// them here; tools/verify_xks_vectors.py, written from docs/xks.md, reproduces them in Python, and both recompute the
/// integrity value of the specification's own example (Appendix C).
/// </summary>
public sealed class XksVectorTests
{
    private static string VectorPath => Path.Combine(Tools.FindRepositoryRoot()!, "testdata", "vectors", "xks-v1.json");

    [Fact]
    public void The_face_reproduces_every_vector_and_the_specification_example()
    {
        var vectors = JsonNode.Parse(File.ReadAllText(VectorPath))!;
        var cases = vectors["cases"]!.AsArray();
        Assert.NotEmpty(cases);
        foreach (var c in cases)
        {
            byte[] Hex(string name) => Convert.FromHexString(c![name]?.GetValue<string>() ?? "");
            var metadata = XksCiphertext.Metadata(c!["key_version"]!.GetValue<int>());
            Assert.Equal(Hex("metadata"), metadata);
            Assert.Equal(c["key_version"]!.GetValue<int>(), XksCiphertext.KeyVersion(metadata));
            var associated = XksCiphertext.AssociatedData(Hex("aad"), metadata);
            Assert.Equal(Hex("associated_data"), associated);
            var plaintext = Hex("plaintext");
            var (ciphertext, tag) = (new byte[plaintext.Length], new byte[16]);
            using (var gcm = new AesGcm(Hex("key"), 16)) gcm.Encrypt(Hex("nonce"), plaintext, ciphertext, tag, associated);
            Assert.Equal(Hex("ciphertext"), ciphertext);
            Assert.Equal(Hex("tag"), tag);
            Assert.Equal(c["integrity_value"]!.GetValue<string>(),
                Convert.ToBase64String(XksCiphertext.IntegrityValue(Hex("aad"), metadata, Hex("nonce"), ciphertext, tag)));
        }
        var spec = vectors["spec_integrity_example"]!;
        byte[] S(string name) => Convert.FromHexString(spec[name]!.GetValue<string>());
        Assert.Equal("qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc=", spec["integrity_value"]!.GetValue<string>());
        Assert.Equal(spec["integrity_value"]!.GetValue<string>(),
            Convert.ToBase64String(XksCiphertext.IntegrityValue(S("aad"), S("metadata"), S("iv"), S("ciphertext"), S("tag"))));
    }

    [Fact]
    public void Metadata_that_is_not_coffres_names_no_version()
    {
        Assert.Null(XksCiphertext.KeyVersion([]));
        Assert.Null(XksCiphertext.KeyVersion([2, 0, 0, 0, 1]));
        Assert.Null(XksCiphertext.KeyVersion([1, 0, 0, 0, 0]));
        Assert.Null(XksCiphertext.KeyVersion([1, 0, 0, 1]));
        Assert.Null(XksCiphertext.KeyVersion("key_version=1"u8));
    }

    [Fact]
    public void The_independent_python_verifier_accepts_the_vectors()
    {
        const string python = "/usr/bin/python3";
        Assert.True(File.Exists(python), $"{python} is missing: install python3 and python3-cryptography (scripts/test.sh does)");
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(Tools.FindRepositoryRoot()!, "tools", "verify_xks_vectors.py"));
        psi.ArgumentList.Add(VectorPath);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, output);
        Assert.Matches(@"\d+ passed, 0 failed \(xks vectors\)", output);
    }
}
