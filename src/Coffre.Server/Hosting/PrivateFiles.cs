using System.Runtime.InteropServices;

namespace Coffre.Server.Hosting;

/// <summary>
/// Keeps what Coffre writes away from the machine's other users. The data directory holds the sealed root, the
/// key store and the catalog (object names, sizes, plaintext MD5s), and SQLite creates its -wal and -shm files
/// with the process's umask, so the umask itself is narrowed: every file and directory Coffre creates afterwards
/// (databases, journals, blobs, temporary files, decrypted output) is 0600 or 0700 at birth. A data directory
/// made or loosened by someone else is brought back to that at start, with a message for each change.
/// </summary>
public static class PrivateFiles
{
    private const UnixFileMode GroupAndOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>umask 077 for this process (Linux). Call before anything is created.</summary>
    public static void RestrictProcessUmask()
    {
        if (OperatingSystem.IsLinux()) _ = umask(0x3F);
    }

#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code enabled for the whole project, for one blittable call
    [DllImport("libc.so.6", EntryPoint = "umask")]
    private static extern uint umask(uint mask);
#pragma warning restore SYSLIB1054

    /// <summary>
    /// Takes every group and other permission off the data directory and the files and directories directly in it
    /// (0700 and 0600 as Coffre creates them), returning one message per change. Deeper entries (local-disk blobs)
    /// are not walked: a 0700 directory already keeps other users from reaching anything below it, and a walk would
    /// make start-up time proportional to the number of objects.
    /// </summary>
    public static IReadOnlyList<string> Enforce(string dataDirectory)
    {
        var repaired = new List<string>();
        if (OperatingSystem.IsWindows() || !Directory.Exists(dataDirectory)) return repaired;
        Narrow(dataDirectory, repaired);
        foreach (var entry in new DirectoryInfo(dataDirectory).EnumerateFileSystemInfos())
        {
            if (entry.LinkTarget is not null) continue; // a symbolic link's own mode means nothing; its target is not ours to change
            Narrow(entry.FullName, repaired);
        }
        return repaired;
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void Narrow(string path, List<string> repaired)
    {
        var mode = File.GetUnixFileMode(path);
        if ((mode & GroupAndOthers) == 0) return;
        File.SetUnixFileMode(path, mode & ~GroupAndOthers);
        repaired.Add($"{path} was open to other users (mode {Octal(mode)}); narrowed to {Octal(mode & ~GroupAndOthers)}.");
    }

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode & 0x1FF, 8).PadLeft(4, '0');
}
