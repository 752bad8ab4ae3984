using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Coffre.Server.Tests.Gateway;
using Coffre.TestSupport;
using Xunit.Abstractions;

namespace Coffre.Server.Tests.Kms;

/// <summary>
/// The AWS command line against the KMS face: Debian's AWS CLI v2 (/usr/bin/aws, apt-get install awscli)
/// and, when present, the pip-installed v1 on PATH. The v2 test fails when /usr/bin/aws is missing (it
/// is a required test tool); the v1 test is skipped (returns) when there is no v1.
/// </summary>
public sealed class KmsCliTests(ITestOutputHelper output) : IAsyncLifetime
{
    private GatewayServer _gateway = null!;
    private string _work = null!;

    public async Task InitializeAsync()
    {
        _gateway = await GatewayServer.StartAsync();
        _work = Directory.CreateTempSubdirectory("coffre-kms-cli-").FullName;
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        try { Directory.Delete(_work, true); } catch (IOException) { }
    }

    [Fact]
    public Task Aws_cli_v2() => Scenario(File.Exists("/usr/bin/aws") ? "/usr/bin/aws"
        : throw new InvalidOperationException("AWS CLI v2 not found at /usr/bin/aws: apt-get install -y awscli"));

    [Fact]
    public async Task Aws_cli_v1_from_pip()
    {
        var aws = Tools.FindExecutable("aws");
        if (aws is null || aws == "/usr/bin/aws" || !(await Run(aws, "--version")).Output.Contains("aws-cli/1."))
        {
            output.WriteLine("No AWS CLI v1 on PATH; skipped.");
            return;
        }
        await Scenario(aws);
    }

    private async Task Scenario(string aws)
    {
        output.WriteLine((await Run(aws, "--version")).Output);
        var created = Json(await Ok(aws, "kms", "create-key", "--description", "cli key"));
        var keyId = created.GetProperty("KeyMetadata").GetProperty("KeyId").GetString()!;
        Assert.Equal("Enabled", created.GetProperty("KeyMetadata").GetProperty("KeyState").GetString());
        await Ok(aws, "kms", "create-alias", "--alias-name", "alias/cli", "--target-key-id", keyId);
        Assert.Contains("alias/cli", await Ok(aws, "kms", "list-aliases"));

        var secret = Path.Combine(_work, "secret.txt");
        await File.WriteAllTextAsync(secret, "s3cr3t from the cli");
        var ctx = "purpose=test,app=cli";
        var encrypted = Json(await Ok(aws, "kms", "encrypt", "--key-id", "alias/cli", "--plaintext", "fileb://" + secret, "--encryption-context", ctx));
        var blobPath = Path.Combine(_work, "blob.bin");
        await File.WriteAllBytesAsync(blobPath, Convert.FromBase64String(encrypted.GetProperty("CiphertextBlob").GetString()!));

        var decrypted = Json(await Ok(aws, "kms", "decrypt", "--ciphertext-blob", "fileb://" + blobPath, "--encryption-context", ctx));
        Assert.Equal("s3cr3t from the cli", Encoding.UTF8.GetString(Convert.FromBase64String(decrypted.GetProperty("Plaintext").GetString()!)));
        var wrong = await Run(aws, "kms", "decrypt", "--ciphertext-blob", "fileb://" + blobPath, "--encryption-context", "purpose=other,app=cli");
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Contains("InvalidCiphertextException", wrong.Output);

        var dk = Json(await Ok(aws, "kms", "generate-data-key", "--key-id", keyId, "--key-spec", "AES_256"));
        var dkBlob = Path.Combine(_work, "dk.bin");
        await File.WriteAllBytesAsync(dkBlob, Convert.FromBase64String(dk.GetProperty("CiphertextBlob").GetString()!));
        var dkBack = Json(await Ok(aws, "kms", "decrypt", "--ciphertext-blob", "fileb://" + dkBlob));
        Assert.Equal(dk.GetProperty("Plaintext").GetString(), dkBack.GetProperty("Plaintext").GetString());
        var random = Json(await Ok(aws, "kms", "generate-random", "--number-of-bytes", "32"));
        Assert.Equal(32, Convert.FromBase64String(random.GetProperty("Plaintext").GetString()!).Length);

        // Rotation, then the old ciphertext still decrypts. CLI v2.9 (Debian 12) predates rotate-key-on-demand (2024):
        // rotate through the key manager then.
        if ((await Run(aws, "kms", "rotate-key-on-demand", "help")).ExitCode == 0)
            await Ok(aws, "kms", "rotate-key-on-demand", "--key-id", keyId);
        else
            _gateway.Keys.RotateKey(keyId, "test");
        Assert.Equal(2, _gateway.Keys.DescribeKey(keyId, "test").PrimaryVersion);
        decrypted = Json(await Ok(aws, "kms", "decrypt", "--ciphertext-blob", "fileb://" + blobPath, "--encryption-context", ctx));
        Assert.Equal("s3cr3t from the cli", Encoding.UTF8.GetString(Convert.FromBase64String(decrypted.GetProperty("Plaintext").GetString()!)));
        await Ok(aws, "kms", "enable-key-rotation", "--key-id", keyId);
        Assert.True(Json(await Ok(aws, "kms", "get-key-rotation-status", "--key-id", keyId)).GetProperty("KeyRotationEnabled").GetBoolean());

        await Ok(aws, "kms", "disable-key", "--key-id", keyId);
        var disabled = await Run(aws, "kms", "encrypt", "--key-id", keyId, "--plaintext", "fileb://" + secret);
        Assert.NotEqual(0, disabled.ExitCode);
        Assert.Contains("DisabledException", disabled.Output);
        await Ok(aws, "kms", "enable-key", "--key-id", keyId);

        var scheduled = Json(await Ok(aws, "kms", "schedule-key-deletion", "--key-id", keyId, "--pending-window-in-days", "7"));
        Assert.Equal("PendingDeletion", scheduled.GetProperty("KeyState").GetString());
        var pending = await Run(aws, "kms", "decrypt", "--ciphertext-blob", "fileb://" + blobPath, "--encryption-context", ctx);
        Assert.Contains("KMSInvalidStateException", pending.Output);
        Assert.Equal("PendingDeletion", Json(await Ok(aws, "kms", "describe-key", "--key-id", "alias/cli")).GetProperty("KeyMetadata").GetProperty("KeyState").GetString());
    }

    /// <summary>RSA keys through Debian's AWS CLI v2: signatures and OAEP ciphertexts checked against the exported public key
    /// by python3-cryptography (tools/rsa_cross_check.py), and the errors of a key used for what it is not.</summary>
    [Fact]
    public async Task Aws_cli_v2_with_rsa_keys_cross_checked_by_python()
    {
        const string aws = "/usr/bin/aws";
        Assert.True(File.Exists(aws), "AWS CLI v2 not found at /usr/bin/aws: apt-get install -y awscli");
        var signer = Json(await Ok(aws, "kms", "create-key", "--key-spec", "RSA_2048", "--key-usage", "SIGN_VERIFY")).GetProperty("KeyMetadata");
        Assert.Equal(("RSA_2048", "SIGN_VERIFY"), (signer.GetProperty("KeySpec").GetString(), signer.GetProperty("KeyUsage").GetString()));
        Assert.Contains("RSASSA_PSS_SHA_256", signer.GetProperty("SigningAlgorithms").EnumerateArray().Select(a => a.GetString()));
        var signerId = signer.GetProperty("KeyId").GetString()!;
        var publicKey = Json(await Ok(aws, "kms", "get-public-key", "--key-id", signerId)).GetProperty("PublicKey").GetString()!;

        var message = Path.Combine(_work, "message.txt");
        await File.WriteAllTextAsync(message, "signed by coffre");
        var messageB64 = Convert.ToBase64String(await File.ReadAllBytesAsync(message));
        foreach (var (algorithm, type, input, inputB64) in new[]
        {
            ("RSASSA_PSS_SHA_256", "RAW", message, messageB64),
            ("RSASSA_PKCS1_V1_5_SHA_384", "DIGEST", Path.Combine(_work, "digest.bin"), Convert.ToBase64String(SHA384.HashData(await File.ReadAllBytesAsync(message)))),
        })
        {
            if (type == "DIGEST") await File.WriteAllBytesAsync(input, Convert.FromBase64String(inputB64));
            var signature = Json(await Ok(aws, "kms", "sign", "--key-id", signerId, "--message", "fileb://" + input, "--message-type", type,
                "--signing-algorithm", algorithm)).GetProperty("Signature").GetString()!;
            var python = Hyok.DkeFaceTests.Python("verify", publicKey, algorithm, type, inputB64, signature);
            Assert.True(python.Code == 0, python.Out + python.Err);
            var signaturePath = Path.Combine(_work, "signature.bin");
            await File.WriteAllBytesAsync(signaturePath, Convert.FromBase64String(signature));
            Assert.True(Json(await Ok(aws, "kms", "verify", "--key-id", signerId, "--message", "fileb://" + input, "--message-type", type,
                "--signing-algorithm", algorithm, "--signature", "fileb://" + signaturePath)).GetProperty("SignatureValid").GetBoolean());
        }
        var tampered = await Run(aws, "kms", "verify", "--key-id", signerId, "--message", "fileb://" + Path.Combine(_work, "digest.bin"),
            "--signing-algorithm", "RSASSA_PSS_SHA_256", "--signature", "fileb://" + Path.Combine(_work, "signature.bin"));
        Assert.Contains("KMSInvalidSignatureException", tampered.Output);

        var decrypter = Json(await Ok(aws, "kms", "create-key", "--key-spec", "RSA_3072", "--key-usage", "ENCRYPT_DECRYPT")).GetProperty("KeyMetadata");
        Assert.Equal(["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"], decrypter.GetProperty("EncryptionAlgorithms").EnumerateArray().Select(a => a.GetString()));
        var decrypterId = decrypter.GetProperty("KeyId").GetString()!;
        var encrypted = Json(await Ok(aws, "kms", "encrypt", "--key-id", decrypterId, "--plaintext", "fileb://" + message,
            "--encryption-algorithm", "RSAES_OAEP_SHA_256"));
        Assert.Equal("RSAES_OAEP_SHA_256", encrypted.GetProperty("EncryptionAlgorithm").GetString());
        // A ciphertext made by python with the exported public key (SHA-1 OAEP) opens through the face.
        var spki = Json(await Ok(aws, "kms", "get-public-key", "--key-id", decrypterId)).GetProperty("PublicKey").GetString()!;
        var fromPython = Hyok.DkeFaceTests.Python("encrypt-spki", spki, "RSAES_OAEP_SHA_1", messageB64);
        Assert.True(fromPython.Code == 0, fromPython.Err);
        foreach (var (ciphertext, algorithm) in new[] { (encrypted.GetProperty("CiphertextBlob").GetString()!, "RSAES_OAEP_SHA_256"), (fromPython.Out.Trim(), "RSAES_OAEP_SHA_1") })
        {
            var blob = Path.Combine(_work, "rsa.bin");
            await File.WriteAllBytesAsync(blob, Convert.FromBase64String(ciphertext));
            var plain = Json(await Ok(aws, "kms", "decrypt", "--key-id", decrypterId, "--ciphertext-blob", "fileb://" + blob, "--encryption-algorithm", algorithm));
            Assert.Equal(messageB64, plain.GetProperty("Plaintext").GetString());
        }

        Assert.Contains("InvalidKeyUsageException", (await Run(aws, "kms", "sign", "--key-id", decrypterId, "--message", "fileb://" + message,
            "--signing-algorithm", "RSASSA_PSS_SHA_256")).Output);
        Assert.Contains("InvalidKeyUsageException", (await Run(aws, "kms", "encrypt", "--key-id", decrypterId, "--plaintext", "fileb://" + message)).Output);
        Assert.Contains("InvalidKeyUsageException", (await Run(aws, "kms", "generate-data-key", "--key-id", decrypterId, "--key-spec", "AES_256")).Output);
        var symmetric = Json(await Ok(aws, "kms", "create-key")).GetProperty("KeyMetadata").GetProperty("KeyId").GetString()!;
        Assert.Contains("UnsupportedOperationException", (await Run(aws, "kms", "get-public-key", "--key-id", symmetric)).Output);
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private async Task<string> Ok(string aws, params string[] args)
    {
        var r = await Run(aws, args);
        Assert.True(r.ExitCode == 0, $"aws {string.Join(' ', args)} failed ({r.ExitCode}): {r.Output}");
        return r.StandardOutput;
    }

    private async Task<(int ExitCode, string Output, string StandardOutput)> Run(string aws, params string[] args)
    {
        var psi = new ProcessStartInfo(aws) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--endpoint-url", _gateway.Endpoint, "--region", "us-east-1", "--output", "json" })
            if (args.Length > 1 && args[0] == "kms") psi.ArgumentList.Add(a);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in _gateway.ClientEnvironment())
            if (v is null) psi.Environment.Remove(k); else psi.Environment[k] = v;
        psi.Environment["AWS_PAGER"] = "";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        var o = await stdout;
        var e = await stderr;
        return (p.ExitCode, o + e, o);
    }
}
