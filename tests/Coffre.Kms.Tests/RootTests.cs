using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Coffre.Kms.Keys;
using Coffre.Kms.Root;
using Coffre.Server.Hosting;

namespace Coffre.Kms.Tests;

public class RootTests
{
    [Fact]
    public void Initialize_then_unseal_gives_the_same_root()
    {
        using var env = new TestEnvironment();
        byte[] wrapped;
        var aad = "test"u8.ToArray();
        var material = RandomNumberGenerator.GetBytes(32);
        string deployment;
        using (var root = SealedFileRoot.Initialize(env.SealPath, TestEnvironment.Passphrase, SealOptions.InsecureForTests, env.Clock))
        {
            wrapped = root.Wrap(material, aad);
            deployment = root.DeploymentId;
        }
        using var again = SealedFileRoot.Unseal(env.SealPath, TestEnvironment.Passphrase, SealOptions.InsecureForTests);
        Assert.Equal(deployment, again.DeploymentId);
        var back = new byte[32];
        again.Unwrap(wrapped, aad, back);
        Assert.Equal(material, back);
        var e = Assert.Throws<KmsException>(() => again.Unwrap(wrapped, "other"u8, back));
        Assert.Equal(KmsError.InvalidCiphertext, e.Error);
    }

    [Fact]
    public void Seal_file_has_the_documented_fields_and_mode_0600()
    {
        using var env = new TestEnvironment();
        using (SealedFileRoot.Initialize(env.SealPath, TestEnvironment.Passphrase, SealOptions.InsecureForTests, env.Clock)) { }
        using var doc = JsonDocument.Parse(File.ReadAllText(env.SealPath));
        var r = doc.RootElement;
        Assert.Equal("coffre-root-seal", r.GetProperty("format").GetString());
        Assert.Equal(1, r.GetProperty("version").GetInt32());
        Assert.Equal("pbkdf2-sha256", r.GetProperty("kdf").GetString());
        Assert.Equal(1000, r.GetProperty("iterations").GetInt32());
        Assert.Equal(32, Convert.FromBase64String(r.GetProperty("salt").GetString()!).Length);
        Assert.Equal(12, Convert.FromBase64String(r.GetProperty("nonce").GetString()!).Length);
        Assert.Equal(32, Convert.FromBase64String(r.GetProperty("ciphertext").GetString()!).Length);
        Assert.Equal(16, Convert.FromBase64String(r.GetProperty("tag").GetString()!).Length);
        Assert.Equal("2025-03-01T09:00:00.0000000Z", r.GetProperty("created").GetString());
        Assert.Empty(Directory.GetFiles(env.Directory, "*.tmp", SearchOption.AllDirectories));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(env.SealPath));
    }

    [Fact]
    public void Seal_can_be_opened_from_the_documented_format_alone()
    {
        using var env = new TestEnvironment();
        byte[] wrapped;
        var material = RandomNumberGenerator.GetBytes(32);
        using (var root = SealedFileRoot.Initialize(env.SealPath, TestEnvironment.Passphrase, SealOptions.InsecureForTests, env.Clock))
            wrapped = root.Wrap(material, "aad"u8);

        // docs/format.md §6.1, with primitives only.
        using var doc = JsonDocument.Parse(File.ReadAllText(env.SealPath));
        var r = doc.RootElement;
        var kek = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(TestEnvironment.Passphrase), Convert.FromBase64String(r.GetProperty("salt").GetString()!),
            r.GetProperty("iterations").GetInt32(), HashAlgorithmName.SHA256, 32);
        var deployment = Encoding.UTF8.GetBytes(r.GetProperty("deployment_id").GetString()!);
        var name = "coffre-root-seal"u8.ToArray();
        byte[] U32(int n) => [(byte)(n >> 24), (byte)(n >> 16), (byte)(n >> 8), (byte)n];
        byte[] aad = [.. U32(name.Length), .. name, .. U32(1), .. U32(deployment.Length), .. deployment];
        var rootKey = new byte[32];
        using (var gcm = new AesGcm(kek, 16))
            gcm.Decrypt(Convert.FromBase64String(r.GetProperty("nonce").GetString()!), Convert.FromBase64String(r.GetProperty("ciphertext").GetString()!),
                Convert.FromBase64String(r.GetProperty("tag").GetString()!), rootKey, aad);
        // §6.2: root-wrapped material = 01 || nonce || ct || tag.
        Assert.Equal(61, wrapped.Length);
        var back = new byte[32];
        using (var gcm = new AesGcm(rootKey, 16))
            gcm.Decrypt(wrapped.AsSpan(1, 12), wrapped.AsSpan(13, 32), wrapped.AsSpan(45, 16), back, "aad"u8);
        Assert.Equal(material, back);
    }

    [Fact]
    public void Wrong_passphrase_is_a_specific_error_naming_the_file()
    {
        using var env = new TestEnvironment();
        using (SealedFileRoot.Initialize(env.SealPath, TestEnvironment.Passphrase, SealOptions.InsecureForTests)) { }
        var e = Assert.Throws<KmsException>(() => SealedFileRoot.Unseal(env.SealPath, "hunter2-secret", SealOptions.InsecureForTests));
        Assert.Equal(KmsError.WrongPassphrase, e.Error);
        Assert.Contains("passphrase does not unseal " + env.SealPath, e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("hunter2", e.ToString(), StringComparison.Ordinal);
        var open = Assert.Throws<KmsException>(() => Deployment.Open(env.Location, "wrong", env.Options, env.Clock));
        Assert.Equal(KmsError.WrongPassphrase, open.Error);
    }

    [Fact]
    public void Refuses_to_overwrite_an_existing_seal_or_data_directory()
    {
        using var env = new TestEnvironment();
        env.Initialize().Dispose();
        var before = File.ReadAllBytes(env.SealPath);
        var e = Assert.Throws<KmsException>(() => SealedFileRoot.Initialize(env.SealPath, "other passphrase", SealOptions.InsecureForTests));
        Assert.Equal(KmsError.AlreadyInitialized, e.Error);
        var e2 = Assert.Throws<KmsException>(() => Deployment.InitializeAsync(env.Location, "other passphrase", env.Options, env.Clock).GetAwaiter().GetResult());
        Assert.Equal(KmsError.AlreadyInitialized, e2.Error);
        Assert.Equal(before, File.ReadAllBytes(env.SealPath));
        using var m = env.Open();
        Assert.NotNull(m.DeploymentId);
    }

    [Fact]
    public void Open_without_initialize_is_not_initialized()
    {
        using var env = new TestEnvironment();
        var e = Assert.Throws<KmsException>(() => env.Open());
        Assert.Equal(KmsError.NotInitialized, e.Error);
    }

    [Fact]
    public void Weak_iteration_counts_are_refused_outside_tests()
    {
        using var env = new TestEnvironment();
        var e = Assert.Throws<KmsException>(() => SealedFileRoot.Initialize(env.SealPath, "p", new SealOptions { Kdf = RootSealFile.Pbkdf2, Iterations = 1000 }));
        Assert.Equal(KmsError.InvalidArgument, e.Error);
        using (SealedFileRoot.Initialize(env.SealPath, "p", SealOptions.InsecureForTests)) { }
        var e2 = Assert.Throws<KmsException>(() => SealedFileRoot.Unseal(env.SealPath, "p"));
        Assert.Equal(KmsError.InvalidArgument, e2.Error);
        Assert.Equal(600_000, SealOptions.Default.Iterations);
    }

    [Fact]
    public void A_seal_edited_to_a_huge_iteration_count_is_refused_at_once_instead_of_hanging_the_start()
    {
        using var env = new TestEnvironment();
        using (SealedFileRoot.Initialize(env.SealPath, "p", SealOptions.InsecureForTests)) { }
        var text = File.ReadAllText(env.SealPath);
        File.WriteAllText(env.SealPath, text.Replace("\"iterations\": 1000,", "\"iterations\": 2147483647,", StringComparison.Ordinal));
        Assert.Contains("2147483647", File.ReadAllText(env.SealPath), StringComparison.Ordinal);
        // Without the bound this derives 2^31 PBKDF2 iterations: hours of CPU before any answer.
        var e = Assert.Throws<KmsException>(() => SealedFileRoot.Unseal(env.SealPath, "p", SealOptions.InsecureForTests));
        Assert.Equal(KmsError.InvalidArgument, e.Error);
        Assert.Contains("modified", e.Message, StringComparison.Ordinal);
        var e2 = Assert.Throws<KmsException>(() => SealedFileRoot.Initialize(env.SealPath + ".2", "p", new SealOptions { Kdf = RootSealFile.Pbkdf2, Iterations = SealOptions.MaximumIterations + 1 }));
        Assert.Equal(KmsError.InvalidArgument, e2.Error);
    }
}
