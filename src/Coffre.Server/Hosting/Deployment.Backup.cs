using System.Text.Json;
using Coffre.Kms;
using Coffre.Kms.Root;
using Coffre.Sqlite;
using Coffre.Sqlite.Kms;

namespace Coffre.Server.Hosting;

/// <summary>What a backup holds (its first archive entry, manifest.json).</summary>
public sealed record BackupManifest(string Format, int Version, string DeploymentId, string Created, string Database, IReadOnlyList<string> Files)
{
    public const string EntryName = "manifest.json";
    public const string FormatName = "coffre-backup";
    /// <summary>Where the working directory's appsettings.json goes in the archive (and in a restored data directory).</summary>
    public const string WorkingDirectoryConfiguration = "working-directory/appsettings.json";
}

// `coffre backup` and `coffre restore` (docs/operations.md, "Backups"): everything of a deployment that is not at the
// providers, in one encrypted file (BackupFile).
public sealed partial class Deployment
{
    /// <summary>
    /// Writes an online, consistent backup of <paramref name="location"/> to <paramref name="outputPath"/> while servers
    /// may keep running: the SQLite catalog, then the SQLite key database (keys after catalog: every key version an object
    /// in the copied catalog names is in the copied key database), each through SQLite's online backup API; root.seal,
    /// root-credentials.json and the appsettings*.json files. With PostgreSQL, the databases are not included (pg_dump
    /// them). The file appears only once complete (written beside it, fsynced, renamed).
    /// </summary>
    public static async Task<BackupManifest> BackupAsync(DeploymentLocation location, string outputPath, string passphrase, SealOptions? kdf = null,
        TimeProvider? time = null, CancellationToken ct = default)
    {
        kdf ??= SealOptions.Default;
        outputPath = Path.GetFullPath(outputPath);
        if (File.Exists(outputPath))
            throw new KmsException(KmsError.AlreadyExists, $"{outputPath} exists; choose a new file name (a backup never overwrites one).");
        var dir = location.DataDirectory;
        using var directoryLock = DataDirectoryLock.ForUse(dir);
        var seal = RootSealFile.Read(Path.Combine(dir, SealFileName), SealOptions.Default);
        var staging = Path.Combine(dir, $".backup-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        var partial = Path.Combine(Path.GetDirectoryName(outputPath)!, $".{Path.GetFileName(outputPath)}.{Guid.NewGuid():N}.partial");
        try
        {
            var entries = new List<(string Name, string Path)>();
            if (location.Database is null)
            {
                foreach (var name in new[] { ObjectServices.CatalogFileName, SqliteKeyDatabase.FileName })
                {
                    if (!File.Exists(Path.Combine(dir, name))) continue;
                    SqliteOnlineBackup.Copy(Path.Combine(dir, name), Path.Combine(staging, name));
                    entries.Add((name, Path.Combine(staging, name)));
                }
            }
            foreach (var file in new[] { SealFileName, "root-credentials.json" }.Concat(Directory.EnumerateFiles(dir, "appsettings*.json").Select(Path.GetFileName)))
                if (File.Exists(Path.Combine(dir, file!))) entries.Add((file!, Path.Combine(dir, file!)));
            var workingConfiguration = Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json");
            if (File.Exists(workingConfiguration) && Path.GetFullPath(Directory.GetCurrentDirectory()) != Path.GetFullPath(dir))
                entries.Add((BackupManifest.WorkingDirectoryConfiguration, workingConfiguration));
            var manifest = new BackupManifest(BackupManifest.FormatName, BackupFile.Version, seal.DeploymentId,
                Coffre.Kms.Audit.AuditChain.FormatTime((time ?? TimeProvider.System).GetUtcNow()), location.Database is null ? "sqlite" : "postgresql",
                [.. entries.Select(e => e.Name)]);
            var manifestPath = Path.Combine(staging, BackupManifest.EntryName);
            await File.WriteAllBytesAsync(manifestPath, JsonSerializer.SerializeToUtf8Bytes(manifest, ManifestJson), ct).ConfigureAwait(false);
            entries.Insert(0, (BackupManifest.EntryName, manifestPath));

            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.Asynchronous };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            await using (var output = new FileStream(partial, options))
            {
                await BackupFile.WriteAsync(output, entries, passphrase, kdf, ct).ConfigureAwait(false);
                output.Flush(flushToDisk: true);
            }
            File.Move(partial, outputPath, overwrite: false);
            return manifest;
        }
        finally
        {
            File.Delete(partial);
            Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>
    /// Restores a backup into <paramref name="dataDirectory"/>, which must not exist or be empty. Everything is extracted
    /// and verified in a sibling directory first and renamed into place only once the whole file decrypted: a wrong
    /// passphrase, a modified or a truncated backup leaves nothing behind.
    /// </summary>
    public static async Task<BackupManifest> RestoreAsync(string backupPath, string dataDirectory, string passphrase, SealOptions? bounds = null,
        CancellationToken ct = default)
    {
        dataDirectory = Path.GetFullPath(dataDirectory);
        if (Directory.Exists(dataDirectory) && Directory.EnumerateFileSystemEntries(dataDirectory).Any())
            throw new KmsException(KmsError.AlreadyInitialized, $"{dataDirectory} is not empty; restore into a new directory (a restore never merges into one).");
        var staging = Path.Combine(Path.GetDirectoryName(dataDirectory)!, $".{Path.GetFileName(dataDirectory)}.{Guid.NewGuid():N}.restoring");
        try
        {
            Directory.CreateDirectory(staging);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(staging, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            await using (var input = new FileStream(backupPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous))
                await BackupFile.ExtractAsync(input, staging, passphrase, bounds ?? SealOptions.Default, backupPath, ct).ConfigureAwait(false);
            var manifestPath = Path.Combine(staging, BackupManifest.EntryName);
            var manifest = File.Exists(manifestPath) ? JsonSerializer.Deserialize<BackupManifest>(await File.ReadAllBytesAsync(manifestPath, ct).ConfigureAwait(false), ManifestJson) : null;
            if (manifest is not { Format: BackupManifest.FormatName } || !File.Exists(Path.Combine(staging, SealFileName)))
                throw new KmsException(KmsError.InvalidArgument, $"{backupPath} decrypts but holds no Coffre deployment (no manifest or no {SealFileName}).");
            File.Delete(manifestPath);
            if (Directory.Exists(dataDirectory)) Directory.Delete(dataDirectory);
            Directory.Move(staging, dataDirectory);
            return manifest;
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    private static readonly JsonSerializerOptions ManifestJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
