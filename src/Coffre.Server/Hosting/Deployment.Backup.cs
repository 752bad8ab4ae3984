using System.Text.Json;
using Coffre.Kms;
using Coffre.Kms.Root;
using Coffre.Sqlite;
using Coffre.Sqlite.Kms;
using Coffre.Storage;

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
    /// may keep running (<see cref="WriteBackupAsync"/>). The file appears only once complete (written beside it,
    /// fsynced, renamed).
    /// </summary>
    public static async Task<BackupManifest> BackupAsync(DeploymentLocation location, string outputPath, string passphrase, SealOptions? kdf = null,
        TimeProvider? time = null, CancellationToken ct = default)
    {
        outputPath = Path.GetFullPath(outputPath);
        if (File.Exists(outputPath))
            throw new KmsException(KmsError.AlreadyExists, $"{outputPath} exists; choose a new file name (a backup never overwrites one).");
        var partial = Path.Combine(Path.GetDirectoryName(outputPath)!, $".{Path.GetFileName(outputPath)}.{Guid.NewGuid():N}.partial");
        try
        {
            return await WriteBackupAsync(location, passphrase, kdf, time, async (_, write) =>
            {
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.Asynchronous };
                if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                await using (var output = new FileStream(partial, options))
                {
                    await write(output).ConfigureAwait(false);
                    output.Flush(flushToDisk: true);
                }
                File.Move(partial, outputPath, overwrite: false);
            }, ct).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(partial);
        }
    }

    /// <summary>
    /// Writes the same backup as <see cref="BackupAsync"/> to a backend, as one blob under <see cref="BackendBackups.Prefix"/>,
    /// streamed (memory bounded by the store's part buffers, whatever the databases' size). The blob exists only once
    /// whole: a local disk renames it into place, an S3 store completes its upload last; a backup stopped half-way
    /// leaves no blob that a listing shows.
    /// </summary>
    public static async Task<(BackupManifest Manifest, BackendBackup Backup)> BackupToStoreAsync(DeploymentLocation location, IBlobStore store,
        string passphrase, SealOptions? kdf = null, TimeProvider? time = null, CancellationToken ct = default)
    {
        BackendBackup? written = null;
        var manifest = await WriteBackupAsync(location, passphrase, kdf, time, async (created, write) =>
        {
            var key = BackendBackups.NewKey(created);
            var pipe = new System.IO.Pipelines.Pipe();
            var producer = Task.Run(async () =>
            {
                try
                {
                    await write(pipe.Writer.AsStream(leaveOpen: true)).ConfigureAwait(false);
                    await pipe.Writer.CompleteAsync().ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    await pipe.Writer.CompleteAsync(e).ConfigureAwait(false);
                    throw;
                }
            }, ct);
            await using (var body = pipe.Reader.AsStream())
            {
                try
                {
                    await store.PutAsync(key, body, null, BackendBackups.Metadata, ct).ConfigureAwait(false);
                }
                catch (BlobStoreException) when (producer.IsFaulted)
                {
                    // The archive failed first: its own error says more than the store's.
                }
            }
            await producer.ConfigureAwait(false);
            written = BackendBackups.Describe(key, (await store.HeadAsync(key, ct).ConfigureAwait(false))?.Length ?? 0);
        }, ct).ConfigureAwait(false);
        return (manifest, written!);
    }

    /// <summary>
    /// Writes an online, consistent backup of <paramref name="location"/> through <paramref name="deliver"/>, which is
    /// given the backup's creation time and a writer of the whole backup file to a stream. The SQLite catalog, then the
    /// SQLite key database (keys after catalog: every key version an object in the copied catalog names is in the copied
    /// key database), each through SQLite's online backup API; root.seal, root-credentials.json and the
    /// appsettings*.json files. With PostgreSQL, the databases are not included (pg_dump them).
    /// </summary>
    private static async Task<BackupManifest> WriteBackupAsync(DeploymentLocation location, string passphrase, SealOptions? kdf, TimeProvider? time,
        Func<DateTimeOffset, Func<Stream, Task>, Task> deliver, CancellationToken ct)
    {
        kdf ??= SealOptions.Default;
        var dir = location.DataDirectory;
        using var directoryLock = DataDirectoryLock.ForUse(dir);
        var seal = RootSealFile.Read(Path.Combine(dir, SealFileName), SealOptions.Default);
        var staging = Path.Combine(dir, $".backup-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
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
            var created = (time ?? TimeProvider.System).GetUtcNow();
            var manifest = new BackupManifest(BackupManifest.FormatName, BackupFile.Version, seal.DeploymentId,
                Coffre.Kms.Audit.AuditChain.FormatTime(created), location.Database is null ? "sqlite" : "postgresql",
                [.. entries.Select(e => e.Name)]);
            var manifestPath = Path.Combine(staging, BackupManifest.EntryName);
            await File.WriteAllBytesAsync(manifestPath, JsonSerializer.SerializeToUtf8Bytes(manifest, ManifestJson), ct).ConfigureAwait(false);
            entries.Insert(0, (BackupManifest.EntryName, manifestPath));
            await deliver(created, output => BackupFile.WriteAsync(output, entries, passphrase, kdf, ct)).ConfigureAwait(false);
            return manifest;
        }
        finally
        {
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
        await using var input = new FileStream(backupPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
        return await RestoreAsync(input, backupPath, dataDirectory, passphrase, bounds, ct).ConfigureAwait(false);
    }

    /// <summary><see cref="RestoreAsync(string, string, string, SealOptions?, CancellationToken)"/> from a stream (a backup
    /// read from a backend); <paramref name="what"/> names it in errors.</summary>
    public static async Task<BackupManifest> RestoreAsync(Stream input, string what, string dataDirectory, string passphrase, SealOptions? bounds = null,
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
            await BackupFile.ExtractAsync(input, staging, passphrase, bounds ?? SealOptions.Default, what, ct).ConfigureAwait(false);
            var manifestPath = Path.Combine(staging, BackupManifest.EntryName);
            var manifest = File.Exists(manifestPath) ? JsonSerializer.Deserialize<BackupManifest>(await File.ReadAllBytesAsync(manifestPath, ct).ConfigureAwait(false), ManifestJson) : null;
            if (manifest is not { Format: BackupManifest.FormatName } || !File.Exists(Path.Combine(staging, SealFileName)))
                throw new KmsException(KmsError.InvalidArgument, $"{what} decrypts but holds no Coffre deployment (no manifest or no {SealFileName}).");
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
