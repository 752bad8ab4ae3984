namespace Coffre.Bench.Lifecycle;

/// <summary>
/// Temporary data directories, deleted together when the benchmark ends rather than after each run: ext4
/// will not reuse an inode for about 30 s after it was freed, so deleting one run's ~30,000 files makes
/// file creation in the next run measurably slower (find_inode_bit and recently_deleted in profiles).
/// </summary>
public static class Scratch
{
    private static readonly List<string> Created = [];

    public static string NewDirectory(string prefix)
    {
        var dir = Directory.CreateTempSubdirectory(prefix).FullName;
        lock (Created) Created.Add(dir);
        return dir;
    }

    public static void DeleteAll()
    {
        lock (Created)
        {
            foreach (var dir in Created)
                try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
            Created.Clear();
        }
    }
}
