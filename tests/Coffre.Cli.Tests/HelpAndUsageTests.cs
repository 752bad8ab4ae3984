namespace Coffre.Cli.Tests;

public sealed class HelpAndUsageTests
{
    [Theory]
    [InlineData("", "--data", "--json", "init", "key", "encrypt", "decrypt", "audit", "serve")]
    [InlineData("init", "--data", "--json")]
    [InlineData("key", "create", "list", "show", "rotate", "disable", "enable", "destroy", "cancel-destroy")]
    [InlineData("key create", "NAME", "--description", "--rotation-period")]
    [InlineData("key list", "--json", "--data")]
    [InlineData("key show", "NAME", "--json")]
    [InlineData("key rotate", "NAME")]
    [InlineData("key disable", "NAME")]
    [InlineData("key enable", "NAME")]
    [InlineData("key destroy", "NAME", "--pending")]
    [InlineData("key cancel-destroy", "NAME")]
    [InlineData("encrypt", "--key", "IN", "OUT", "--force")]
    [InlineData("decrypt", "IN", "OUT", "--force")]
    [InlineData("audit", "list", "tail", "export", "verify")]
    [InlineData("audit list", "--key", "--principal", "--operation", "--bucket", "--object", "--since", "--until", "--after", "--limit")]
    [InlineData("audit tail", "--key", "--bucket", "--object", "--lines", "--follow")]
    [InlineData("audit export", "--key", "--operation", "--bucket", "--after", "--limit", "--follow")]
    [InlineData("audit verify", "--json")]
    [InlineData("serve", "--listen", "--data")]
    public void Help_exits_0_and_describes_the_options(string command, params string[] mentions)
    {
        var args = command.Split(' ', StringSplitOptions.RemoveEmptyEntries).Append("--help").ToArray();
        var r = Cli.Run(args, passphrase: null);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Equal("", r.Stderr);
        foreach (var m in mentions) Assert.Contains(m, r.Stdout);
    }

    [Theory]
    [InlineData("bogus")]
    [InlineData("key", "bogus")]
    [InlineData("key", "list", "--bogus")]
    [InlineData("encrypt", "a", "b")]                  // --key missing
    [InlineData("key", "create")]                      // NAME missing
    [InlineData("decrypt", "only-one")]
    [InlineData("audit", "list", "--limit", "0")]
    [InlineData("audit", "list", "--limit", "many")]
    [InlineData("init", "--json", "--data")]           // --data without a value
    public void Unknown_commands_options_and_missing_arguments_exit_1_with_stderr_only(params string[] args)
    {
        using var dir = new TempDir();
        var r = Cli.Run(args, workingDirectory: dir.Path);
        r.Fails(1);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path)); // nothing was created
    }

    [Fact]
    public void A_command_without_an_initialised_data_directory_exits_3()
    {
        using var dir = new TempDir();
        var r = Cli.Run(["key", "list", "--data", dir["nothing-here"]], workingDirectory: dir.Path).Fails(3);
        Assert.Contains("coffre init", r.Stderr);
    }
}
