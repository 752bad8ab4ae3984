using System.CommandLine;
using Coffre.Server.Hosting;
using Coffre.Storage;

namespace Coffre.Cli.Commands;

/// <summary><c>coffre backup</c> and <c>coffre restore</c> (docs/operations.md, "Backups"; file format: docs/format.md §11).</summary>
public static class BackupCommands
{
    public const string PassphraseEnvironmentVariable = "COFFRE_BACKUP_PASSPHRASE";

    public static Command CreateBackup()
    {
        var to = new Option<string?>("--to") { Description = "The backup file to write (must not exist)" };
        var toBackend = new Option<string?>("--to-backend") { Description = $"Write the backup to this configured backend instead, under {BackendBackups.Prefix} (list them with coffre backup list)" };
        var command = new Command("backup",
            "Write an encrypted, consistent backup of everything that is not at the providers: key database and audit trail, " +
            "catalog (SQLite online backup: works while coffre serve runs), root.seal, root-credentials.json, appsettings*.json. " +
            $"Encrypted under a backup passphrase (${PassphraseEnvironmentVariable}, else asked twice; Argon2id). With PostgreSQL, " +
            "back the database up with pg_dump as well. Restore with coffre restore. Give exactly one of --to and --to-backend.") { to, toBackend };
        command.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            var (file, backend) = (r.GetValue(to), r.GetValue(toBackend));
            if ((file is null) == (backend is null))
                throw new CliException(ExitCodes.Usage, "Give exactly one of --to FILE and --to-backend NAME.");
            if (!cli.IsInitialized)
                throw new CliException(ExitCodes.NotFound, $"No Coffre data directory at {cli.DataDirectory}: nothing to back up.");
            using var store = backend is null ? null : OpenBackend(cli, backend);
            var passphrase = CliContext.ReadPassphrase(confirm: true, PassphraseEnvironmentVariable);
            BackupManifest manifest;
            BackendBackup? stored = null;
            string where;
            if (store is null)
            {
                where = Path.GetFullPath(file!);
                manifest = await Deployment.BackupAsync(cli.Location, where, passphrase, ct: ct);
            }
            else
            {
                (manifest, stored) = await AtBackendAsync(backend!, () => Deployment.BackupToStoreAsync(cli.Location, store.Store, passphrase, ct: ct));
                where = $"backend {backend}, backup {stored.Id}";
            }
            if (cli.Json) cli.WriteJson(new { file, backend, id = stored?.Id, manifest.DeploymentId, manifest.Created, manifest.Database, manifest.Files });
            else
                Console.WriteLine($"Backed up {cli.DataDirectory} (deployment {manifest.DeploymentId}) to {where}: {string.Join(", ", manifest.Files)}." +
                    (manifest.Database == "postgresql" ? " The keys, audit trail and catalog are in PostgreSQL: back them up with pg_dump." : ""));
            return ExitCodes.Ok;
        }));

        var backendOption = new Option<string>("--backend") { Description = "The configured backend to list", Required = true };
        var list = new Command("list", $"The backups coffre backup --to-backend wrote to a backend ({BackendBackups.Prefix}), oldest first.") { backendOption };
        list.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            var name = r.GetValue(backendOption)!;
            using var store = OpenBackend(cli, name);
            var backups = await AtBackendAsync(name, () => BackendBackups.ListAsync(store.Store, ct));
            if (cli.Json) cli.WriteJson(backups.Select(b => new { id = b.Id, created = b.Created, size = b.Size }));
            else if (backups.Count == 0) Console.WriteLine($"No backup on backend {name}.");
            else
                foreach (var b in backups) Console.WriteLine($"{b.Id}  {b.Created:u}  {b.Size} bytes");
            return ExitCodes.Ok;
        }));
        command.Subcommands.Add(list);
        return command;
    }

    public static Command CreateRestore()
    {
        var file = new Argument<string?>("FILE") { Description = "A file written by coffre backup", Arity = ArgumentArity.ZeroOrOne };
        var fromBackend = new Option<string?>("--from-backend") { Description = "Restore a backup coffre backup --to-backend wrote to this configured backend" };
        var id = new Option<string?>("--id") { Description = "With --from-backend: the backup to restore (see coffre backup list)" };
        var latest = new Option<bool>("--latest") { Description = "With --from-backend: the newest backup (the default)" };
        var command = new Command("restore",
            "Restore a backup into a new data directory (--data; it must not exist or be empty). The whole backup is decrypted " +
            $"and verified before anything is put in place. Passphrase: ${PassphraseEnvironmentVariable}, else asked. From a " +
            "backend, the backend's configuration comes from the working directory's appsettings.json or Coffre__ variables.") { file, fromBackend, id, latest };
        command.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            var (path, backend) = (r.GetValue(file), r.GetValue(fromBackend));
            if ((path is null) == (backend is null))
                throw new CliException(ExitCodes.Usage, "Give exactly one of FILE and --from-backend NAME.");
            if (backend is null && (r.GetValue(id) is not null || r.GetValue(latest)))
                throw new CliException(ExitCodes.Usage, "--id and --latest choose among a backend's backups: use them with --from-backend.");
            if (r.GetValue(id) is not null && r.GetValue(latest))
                throw new CliException(ExitCodes.Usage, "Give --id or --latest, not both.");
            BackupManifest manifest;
            string what;
            if (backend is null)
            {
                var passphrase = CliContext.ReadPassphrase(confirm: false, PassphraseEnvironmentVariable);
                (manifest, what) = (await Deployment.RestoreAsync(path!, cli.DataDirectory, passphrase, ct: ct), path!);
            }
            else
            {
                using var store = OpenBackend(cli, backend);
                var backup = await AtBackendAsync(backend, () => BackendBackups.FindAsync(store.Store, r.GetValue(id), ct))
                    ?? throw new CliException(ExitCodes.NotFound, r.GetValue(id) is { } wanted
                        ? $"Backend {backend} holds no backup '{wanted}' (coffre backup list --backend {backend} lists them)."
                        : $"Backend {backend} holds no backup (coffre backup --to-backend {backend} writes one).");
                var passphrase = CliContext.ReadPassphrase(confirm: false, PassphraseEnvironmentVariable);
                what = $"backup {backup.Id} of backend {backend}";
                manifest = await AtBackendAsync(backend, async () =>
                {
                    await using var read = await store.Store.GetAsync(backup.Key, cancellationToken: ct);
                    return await Deployment.RestoreAsync(read.Content, what, cli.DataDirectory, passphrase, ct: ct);
                });
            }
            if (cli.Json) cli.WriteJson(new { dataDirectory = cli.DataDirectory, from = what, manifest.DeploymentId, manifest.Created, manifest.Database, manifest.Files });
            else
                Console.WriteLine($"Restored deployment {manifest.DeploymentId} ({what}, taken {manifest.Created}) into {cli.DataDirectory}." +
                    (manifest.Files.Contains(BackupManifest.WorkingDirectoryConfiguration)
                        ? $" The working directory's appsettings.json is in {BackupManifest.WorkingDirectoryConfiguration}: put it back where coffre serve runs." : "") +
                    (manifest.Database == "postgresql" ? " Restore the PostgreSQL database from its pg_dump too." : ""));
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>One configured backend's own store (not the placement over all of them: a backup goes whole to the backend named).</summary>
    private static OpenedBackend OpenBackend(CliContext cli, string name)
    {
        var named = BackendsConfiguration.Named(cli.LoadConfiguration());
        if (!named.TryGetValue(name, out var backend))
            throw new CliException(ExitCodes.NotFound, $"No backend '{name}' is configured (configured: {string.Join(", ", named.Keys)}).");
        return new OpenedBackend(BackendsConfiguration.CreateStore(name, backend, cli.DataDirectory));
    }

    private sealed record OpenedBackend(IBlobStore Store) : IDisposable
    {
        public void Dispose() => (Store as IDisposable)?.Dispose();
    }

    private static async Task<T> AtBackendAsync<T>(string backend, Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (BlobStoreException e)
        {
            throw new CliException(ExitCodes.BackendUnavailable, $"backend {backend}: {e.Message} (coffre backends check {backend} tests it).");
        }
    }
}
