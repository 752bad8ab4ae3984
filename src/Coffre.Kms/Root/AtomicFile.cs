namespace Coffre.Kms.Root;

internal static class AtomicFile
{
    /// <summary>Writes a new file: temp file in the same directory (0600 on Unix), fsync, then a
    /// no-clobber rename; fails if <paramref name="path"/> exists.</summary>
    public static void WriteNew(string path, byte[] content)
    {
        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory);
        var temp = WriteTemp(path, content);
        try
        {
            File.Move(temp, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            TryDelete(temp);
            throw new KmsException(KmsError.AlreadyInitialized, $"A root seal already exists at {path}; refusing to overwrite it.");
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        FsyncDirectory(directory);
    }

    /// <summary>Replaces a file the same way (rename over it): a crash leaves the old content or the new, never a mix.</summary>
    public static void Replace(string path, byte[] content)
    {
        var temp = WriteTemp(path, content);
        try
        {
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        FsyncDirectory(Path.GetDirectoryName(path)!);
    }

    /// <summary>Renames <paramref name="from"/> over <paramref name="to"/> in the same directory and fsyncs the directory.</summary>
    public static void Move(string from, string to)
    {
        File.Move(from, to, overwrite: true);
        FsyncDirectory(Path.GetDirectoryName(to)!);
    }

    /// <summary>A fsynced temp file (0600 on Unix) beside <paramref name="path"/>.</summary>
    private static string WriteTemp(string path, byte[] content)
    {
        var temp = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using var stream = new FileStream(temp, options);
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        return temp;
    }
    private static void FsyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows()) return;
        try
        {
            // Opening a directory read-only and flushing it fsyncs the rename on Linux.
            using var handle = File.OpenHandle(directory, FileMode.Open, FileAccess.Read);
            RandomAccess.FlushToDisk(handle);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: some file systems refuse to open directories.
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
