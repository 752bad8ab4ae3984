using Coffre.Kms;
using Coffre.Kms.Root;

namespace Coffre.Server.Hosting;

/// <summary>
/// Who is using a data directory, told by an advisory lock (flock(2), through .NET's FileShare) on <c>coffre.lock</c>
/// in it. Every process that opens the deployment (<c>coffre serve</c>, each CLI command) holds it shared for as long as
/// it has the deployment open; a root migration holds it exclusive. The kernel drops a lock when its process dies
/// (kill -9 included), so there is no stale lock to clean up. It sees processes on this machine only: instances on other
/// machines sharing a PostgreSQL database are not seen (docs/operations.md, "Moving to another root").
/// </summary>
public sealed class DataDirectoryLock : IDisposable
{
    public const string FileName = "coffre.lock";

    private readonly FileStream _file;

    private DataDirectoryLock(FileStream file) => _file = file;

    /// <summary>Shared: for opening the deployment. Refused while a root migration runs or is pending (root.seal.next exists).</summary>
    public static DataDirectoryLock ForUse(string dataDirectory)
    {
        var taken = Take(dataDirectory, exclusive: false) ?? throw new KmsException(KmsError.Conflict,
            $"A root migration is running on {dataDirectory} (coffre root migrate); wait for it to finish.");
        if (File.Exists(RootSealSwitch.NextPath(dataDirectory)))
        {
            taken.Dispose();
            throw new KmsException(KmsError.Conflict,
                $"A root migration of {dataDirectory} was interrupted ({RootSealSwitch.NextFileName} exists): run `coffre root migrate` again with the same --to to finish it; nothing opens the deployment until then.");
        }
        return taken;
    }

    /// <summary>Exclusive: for a root migration. Refused while any process has the deployment open.</summary>
    public static DataDirectoryLock ForRootMigration(string dataDirectory) =>
        Take(dataDirectory, exclusive: true) ?? throw new KmsException(KmsError.Conflict,
            $"{dataDirectory} is in use (coffre serve, or another coffre command, holds {FileName}); stop it before migrating the root.");

    /// <summary>Exclusive: for moving the deployment's SQLite files into PostgreSQL. Refused while any process has the deployment open.</summary>
    public static DataDirectoryLock ForStoreMigration(string dataDirectory) =>
        Take(dataDirectory, exclusive: true) ?? throw new KmsException(KmsError.Conflict,
            $"{dataDirectory} is in use (coffre serve, or another coffre command, holds {FileName}); stop it before migrating the store.");

    private static DataDirectoryLock? Take(string dataDirectory, bool exclusive)
    {
        Directory.CreateDirectory(dataDirectory);
        var options = new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            // On Unix .NET takes flock(LOCK_EX | LOCK_NB) for FileShare.None and flock(LOCK_SH | LOCK_NB) otherwise
            // (on local file systems), and reports a conflict as an IOException.
            Share = exclusive ? FileShare.None : FileShare.ReadWrite,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            return new DataDirectoryLock(new FileStream(Path.Combine(dataDirectory, FileName), options));
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            return null;
        }
    }

    public void Dispose() => _file.Dispose();
}
