using System.Security.Cryptography;
using System.Text;

namespace Coffre.Server.Tests.Gateway.Clients;

/// <summary>
/// Local files the client tests upload, made once per test run: random bodies of 0 B, 1 B, 10 MiB and 60 MiB
/// (above the CLIs' multipart thresholds), a fixed-width text file for ranged reads, and a tree of 20 small files
/// with nested names, spaces, '+' and '%'.
/// </summary>
public static class ClientTestFiles
{
    public const int MiB = 1024 * 1024;

    public static readonly (string Name, int Size)[] Bodies = [("empty.bin", 0), ("one.bin", 1), ("ten.bin", 10 * MiB), ("sixty.bin", 60 * MiB)];

    /// <summary>Relative paths of the tree, '/'-separated; under "t/" the top level holds a/, d/, "e f/" and x1, x14, x18.</summary>
    public static readonly string[] TreeFiles =
    [
        "x1", "x14", "x18", "a/x2", "a/x13", "a/b/x3", "a/b/x4", "a/b/x11", "a/b/x12", "a/b/x19",
        "a/c/x5", "a/c/x6", "a/c/x16", "a/c/x17", "d/x7", "d/x8", "d/x15", "e f/x 9", "e f/x+10", "e f/x%20",
    ];

    private static readonly Lazy<string> Root = new(Create);

    public static string FilesDirectory => Root.Value;
    public static string TreeDirectory => Path.Combine(Root.Value, "tree");
    /// <summary>The folder holding only the <see cref="Bodies"/>.</summary>
    public static string BodiesDirectory => Path.Combine(Root.Value, "bodies");
    public static string PathOf(string name) => Path.Combine(BodiesDirectory, name);

    /// <summary>Text lines of 16 bytes ("%015d\n"), 6 MiB + 100 bytes: byte i is predictable, so a range is checkable as text.</summary>
    public static string LinesPath => Path.Combine(Root.Value, "lines.txt");

    public static string Sha256(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }

    public static string Md5(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(MD5.HashData(f));
    }

    public static byte[] Slice(string path, long offset, int count)
    {
        using var f = File.OpenRead(path);
        f.Position = offset;
        var buffer = new byte[count];
        f.ReadExactly(buffer);
        return buffer;
    }

    public static void AssertSameFile(string expected, string actual)
    {
        Assert.True(File.Exists(actual), $"{actual} was not downloaded");
        Assert.Equal(new FileInfo(expected).Length, new FileInfo(actual).Length);
        Assert.Equal(Sha256(expected), Sha256(actual));
    }

    public static void AssertSameTree(string expected, string actual)
    {
        foreach (var rel in TreeFiles)
            AssertSameFile(Path.Combine(expected, rel), Path.Combine(actual, rel));
        Assert.Equal(TreeFiles.Length, System.IO.Directory.GetFiles(actual, "*", SearchOption.AllDirectories).Length);
    }

    private static string Create()
    {
        var root = System.IO.Directory.CreateTempSubdirectory("coffre-client-files-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { System.IO.Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        var buffer = new byte[MiB];
        System.IO.Directory.CreateDirectory(Path.Combine(root, "bodies"));
        foreach (var (name, size) in Bodies)
        {
            using var f = File.Create(Path.Combine(root, "bodies", name));
            for (var left = size; left > 0; left -= buffer.Length)
            {
                RandomNumberGenerator.Fill(buffer);
                f.Write(buffer, 0, Math.Min(left, buffer.Length));
            }
        }
        var lines = new StringBuilder();
        for (var i = 0; lines.Length < 6 * MiB + 100; i++) lines.Append(i.ToString("D15", System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        File.WriteAllText(Path.Combine(root, "lines.txt"), lines.ToString(0, 6 * MiB + 100));
        foreach (var rel in TreeFiles)
        {
            var path = Path.Combine(root, "tree", rel);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, $"content of {rel}\n");
        }
        return root;
    }
}
