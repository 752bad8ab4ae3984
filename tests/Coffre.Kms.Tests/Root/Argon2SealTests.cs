using System.Text.Json.Nodes;
using Coffre.Kms.Keys;
using Coffre.Kms.Root;

namespace Coffre.Kms.Tests.Root;

/// <summary>Argon2id passphrase seals (docs/format.md §6.1): the default for new seals, parameters in the file, bounded on read.</summary>
public class Argon2SealTests
{
    [Fact]
    public void New_seals_use_argon2id_by_default_with_their_parameters_recorded()
    {
        using var env = new TestEnvironment();
        using (SealedFileRoot.Initialize(env.SealPath, TestEnvironment.Passphrase)) { }
        var seal = JsonNode.Parse(File.ReadAllText(env.SealPath))!;
        Assert.Equal((2, "passphrase", "argon2id", 19456, 2, 1), (seal["version"]!.GetValue<int>(), seal["protection"]!.GetValue<string>(),
            seal["kdf"]!.GetValue<string>(), seal["memory_kib"]!.GetValue<int>(), seal["iterations"]!.GetValue<int>(), seal["parallelism"]!.GetValue<int>()));
        using var opened = SealedFileRoot.Unseal(env.SealPath, TestEnvironment.Passphrase);
        Assert.Equal(KmsError.WrongPassphrase, Assert.Throws<KmsException>(() => SealedFileRoot.Unseal(env.SealPath, "not the passphrase")).Error);
    }

    [Fact]
    public void An_argon2id_data_directory_opens_its_keys_and_an_old_pbkdf2_one_still_opens()
    {
        using var argon = new TestEnvironment(KmsOptions.InsecureForTests with { Seal = SealOptions.InsecureArgon2ForTests });
        using (var keys = argon.Initialize()) keys.CreateKey("k", null, TestEnvironment.Alice);
        Assert.Contains("\"argon2id\"", File.ReadAllText(argon.SealPath));
        using (var keys = argon.Open()) Assert.Equal("k", keys.DescribeKey("k", TestEnvironment.Alice).Name);

        using var pbkdf2 = new TestEnvironment();
        using (pbkdf2.Initialize()) { }
        var v1 = JsonNode.Parse(File.ReadAllText(pbkdf2.SealPath))!;
        Assert.Equal((1, "pbkdf2-sha256"), (v1["version"]!.GetValue<int>(), v1["kdf"]!.GetValue<string>()));
        using (pbkdf2.Open()) { }
    }

    [Theory]
    [InlineData("memory_kib", 2147483647)]
    [InlineData("memory_kib", 1048577)]
    [InlineData("iterations", 1000000)]
    [InlineData("parallelism", 4096)]
    public void A_seal_edited_to_huge_argon2_parameters_is_refused_at_once(string member, int value)
    {
        using var env = new TestEnvironment(KmsOptions.InsecureForTests with { Seal = SealOptions.InsecureArgon2ForTests });
        using (SealedFileRoot.Initialize(env.SealPath, "p", SealOptions.InsecureArgon2ForTests)) { }
        var seal = JsonNode.Parse(File.ReadAllText(env.SealPath))!;
        seal[member] = value;
        File.WriteAllText(env.SealPath, seal.ToJsonString());
        var e = Assert.Throws<KmsException>(() => SealedFileRoot.Unseal(env.SealPath, "p", SealOptions.InsecureArgon2ForTests));
        Assert.Equal(KmsError.InvalidArgument, e.Error);
        Assert.Contains("modified", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Weak_argon2_memory_is_refused_outside_tests_and_a_version_1_file_cannot_claim_argon2id()
    {
        using var env = new TestEnvironment();
        var e = Assert.Throws<KmsException>(() => SealedFileRoot.Initialize(env.SealPath, "p", new SealOptions { Argon2MemoryKib = 1024 }));
        Assert.Equal(KmsError.InvalidArgument, e.Error);
        using (SealedFileRoot.Initialize(env.SealPath, "p", SealOptions.InsecureArgon2ForTests)) { }
        Assert.Equal(KmsError.InvalidArgument, Assert.Throws<KmsException>(() => SealedFileRoot.Unseal(env.SealPath, "p")).Error);
        var seal = JsonNode.Parse(File.ReadAllText(env.SealPath))!;
        seal["version"] = 1;
        File.WriteAllText(env.SealPath, seal.ToJsonString());
        Assert.Equal(KmsError.InvalidArgument, Assert.Throws<KmsException>(() => SealedFileRoot.Unseal(env.SealPath, "p", SealOptions.InsecureArgon2ForTests)).Error);
    }
}
