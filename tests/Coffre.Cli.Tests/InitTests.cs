using System.Security.Cryptography;

namespace Coffre.Cli.Tests;

public sealed class InitTests
{
    [Fact]
    public void Init_creates_the_seal_with_mode_0600_and_the_key_store_and_prints_json()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        var json = Cli.Run("init", "--data", data, "--json").Json();
        Assert.Equal(data, json.GetProperty("dataDirectory").GetString());
        Assert.True(Guid.TryParse(json.GetProperty("deploymentId").GetString(), out _));
        var seal = Path.Combine(data, "root.seal");
        Assert.True(File.Exists(seal));
        Assert.True(File.Exists(Path.Combine(data, "keys.db")));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(seal));
        Assert.DoesNotContain(Cli.Passphrase, File.ReadAllText(seal));
        Assert.DoesNotContain(Cli.Passphrase, json.ToString());
    }

    [Fact]
    public void Second_init_exits_5_and_changes_nothing()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        Cli.Run("init", "--data", data).Ok();
        var before = Snapshot(data);
        var r = Cli.Run(["init", "--data", data], passphrase: "another passphrase entirely").Fails(5);
        Assert.Contains("already initialised", r.Stderr);
        Assert.Equal(before, Snapshot(data));
        Cli.Run("key", "list", "--data", data, "--json").Ok(); // still opens with the first passphrase
    }

    [Fact]
    public void Wrong_passphrase_exits_2_with_a_clear_message_and_no_secret()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        Cli.Run("init", "--data", data).Ok();
        const string wrong = "Tr0ub4dor&3-not-it";
        foreach (var args in new[] { new[] { "key", "list" }, ["key", "create", "x"], ["audit", "verify"], ["key", "list", "--json"] })
        {
            var r = Cli.Run([.. args, "--data", data], passphrase: wrong).Fails(2);
            Assert.Contains("passphrase", r.Stderr, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(wrong, r.All);
            Assert.DoesNotContain(Cli.Passphrase, r.All);
        }
    }

    [Fact]
    public void Passphrase_from_one_line_of_stdin_works_for_init_and_later_commands()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        const string p = "a passphrase typed into a pipe";
        var json = Cli.Run(["init", "--data", data, "--json"], passphrase: null, stdin: p + "\n").Json();
        Assert.DoesNotContain(p, json.ToString());
        Cli.Run(["key", "create", "piped", "--data", data], passphrase: null, stdin: p + "\n").Ok();
        Cli.Run(["key", "show", "piped", "--data", data], passphrase: p).Ok();
        Cli.Run(["key", "list", "--data", data], passphrase: null, stdin: "wrong passphrase here\n").Fails(2);
    }

    [Fact]
    public void No_passphrase_at_all_exits_1_and_creates_nothing()
    {
        using var dir = new TempDir();
        var r = Cli.Run(["init", "--data", dir["data"]], passphrase: null).Fails(1);
        Assert.Contains("COFFRE_PASSPHRASE", r.Stderr);
        Assert.False(File.Exists(Path.Combine(dir["data"], "root.seal")));
    }

    [Fact]
    public void A_short_passphrase_is_refused_for_a_new_seal_whatever_its_source()
    {
        using var dir = new TempDir();
        Cli.Run(["init", "--data", dir["a"]], passphrase: "short").Fails(1);
        Cli.Run(["init", "--data", dir["b"]], passphrase: null, stdin: "short\n").Fails(1);
        Assert.False(File.Exists(Path.Combine(dir["a"], "root.seal")));
        Assert.False(File.Exists(Path.Combine(dir["b"], "root.seal")));
    }

    private static string Snapshot(string data) => string.Join("\n", Directory.GetFiles(data).Order().Select(f =>
        $"{Path.GetFileName(f)} {File.GetLastWriteTimeUtc(f):O} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))}"));
}

public sealed class DataDirectoryResolutionTests
{
    [Fact]
    public void Data_option_beats_COFFRE_DATA_which_beats_the_default_in_the_working_directory()
    {
        using var dir = new TempDir();
        var work = dir["work"];
        Directory.CreateDirectory(work);

        // Default: ./coffre-data relative to the working directory.
        var json = Cli.Run(["init", "--json"], workingDirectory: work).Json();
        Assert.Equal(Path.Combine(work, "coffre-data"), json.GetProperty("dataDirectory").GetString());
        Assert.True(File.Exists(Path.Combine(work, "coffre-data", "root.seal")));

        // COFFRE_DATA beats the default.
        var fromEnv = dir["from-env"];
        json = Cli.Run(["init", "--json"], workingDirectory: work, dataEnv: fromEnv).Json();
        Assert.Equal(fromEnv, json.GetProperty("dataDirectory").GetString());
        Assert.True(File.Exists(Path.Combine(fromEnv, "root.seal")));

        // --data beats COFFRE_DATA.
        var fromOption = dir["from-option"];
        json = Cli.Run(["init", "--json", "--data", fromOption], workingDirectory: work, dataEnv: fromEnv).Json();
        Assert.Equal(fromOption, json.GetProperty("dataDirectory").GetString());
        Assert.True(File.Exists(Path.Combine(fromOption, "root.seal")));

        // Later commands resolve the same way: a key made in one directory is not in the others.
        Cli.Run(["key", "create", "only-in-env"], workingDirectory: work, dataEnv: fromEnv).Ok();
        Cli.Run(["key", "show", "only-in-env"], workingDirectory: work, dataEnv: fromEnv).Ok();
        Cli.Run(["key", "show", "only-in-env"], workingDirectory: work).Fails(3);
        Cli.Run(["key", "show", "only-in-env", "--data", fromOption], workingDirectory: work, dataEnv: fromEnv).Fails(3);

        // A relative --data is relative to the working directory.
        json = Cli.Run(["init", "--json", "--data", "rel"], workingDirectory: work).Json();
        Assert.Equal(Path.Combine(work, "rel"), json.GetProperty("dataDirectory").GetString());
    }
}
