namespace Coffre.Cli.Tests;

/// <summary>What Coffre writes is for its own user: other local users can read none of it.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PermissionsTests
{
    private const UnixFileMode GroupAndOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    [Fact]
    public void The_data_directory_every_file_in_it_and_decrypted_output_are_private_whatever_the_umask()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        Cli.Run("init", "--data", data).Ok();
        Cli.Run("key", "create", "k", "--data", data).Ok();
        // rewrap opens the catalog (SQLite's -wal and -shm files, gone when it closes, are checked while serve runs: ServeTests).
        Cli.Run("rewrap", "--data", data).Ok();
        File.WriteAllText(dir["plain.txt"], "payroll");
        Cli.Run("encrypt", "--key", "k", dir["plain.txt"], dir["c.cfr"], "--data", data).Ok();
        Cli.Run("decrypt", dir["c.cfr"], dir["back.txt"], "--data", data).Ok();

        var entries = Directory.EnumerateFileSystemEntries(data, "*", SearchOption.AllDirectories).Append(data).ToList();
        Assert.Contains(entries, e => e.EndsWith("catalog.db", StringComparison.Ordinal));
        Assert.All(entries, e => Assert.True((File.GetUnixFileMode(e) & GroupAndOthers) == 0, $"{e} is mode {File.GetUnixFileMode(e)}"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(data));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dir["back.txt"]));
    }

    [Fact]
    public void A_data_directory_opened_to_other_users_is_narrowed_back_with_a_message()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        Cli.Run("init", "--data", data).Ok();
        var keysDb = Path.Combine(data, "keys.db");
        const UnixFileMode open = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        File.SetUnixFileMode(data, open | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        File.SetUnixFileMode(keysDb, open);

        var r = Cli.Run("key", "list", "--data", data).Ok();
        Assert.Contains($"{keysDb} was open to other users (mode 0644); narrowed to 0600", r.Stderr);
        Assert.Contains($"{data} was open to other users (mode 0755); narrowed to 0700", r.Stderr);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keysDb));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(data));
        Assert.DoesNotContain("narrowed", Cli.Run("key", "list", "--data", data).Ok().Stderr);
    }
}
