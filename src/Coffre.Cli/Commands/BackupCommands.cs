using System.CommandLine;
using Coffre.Server.Hosting;

namespace Coffre.Cli.Commands;

/// <summary><c>coffre backup</c> and <c>coffre restore</c> (docs/operations.md, "Backups"; file format: docs/format.md §11).</summary>
public static class BackupCommands
{
    public const string PassphraseEnvironmentVariable = "COFFRE_BACKUP_PASSPHRASE";

    public static Command CreateBackup()
    {
        var to = new Option<string>("--to") { Description = "The backup file to write (must not exist)", Required = true };
        var command = new Command("backup",
            "Write an encrypted, consistent backup of everything that is not at the providers: key database and audit trail, " +
            "catalog (SQLite online backup: works while coffre serve runs), root.seal, root-credentials.json, appsettings*.json. " +
            $"Encrypted under a backup passphrase (${PassphraseEnvironmentVariable}, else asked twice; Argon2id). With PostgreSQL, " +
            "back the database up with pg_dump as well. Restore with coffre restore.") { to };
        command.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            if (!cli.IsInitialized)
                throw new CliException(ExitCodes.NotFound, $"No Coffre data directory at {cli.DataDirectory}: nothing to back up.");
            var passphrase = CliContext.ReadPassphrase(confirm: true, PassphraseEnvironmentVariable);
            var path = Path.GetFullPath(r.GetValue(to)!);
            var manifest = await Deployment.BackupAsync(cli.Location, path, passphrase, ct: ct);
            if (cli.Json) cli.WriteJson(new { file = path, manifest.DeploymentId, manifest.Created, manifest.Database, manifest.Files });
            else
                Console.WriteLine($"Backed up {cli.DataDirectory} (deployment {manifest.DeploymentId}) to {path}: {string.Join(", ", manifest.Files)}." +
                    (manifest.Database == "postgresql" ? " The keys, audit trail and catalog are in PostgreSQL: back them up with pg_dump." : ""));
            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Command CreateRestore()
    {
        var file = new Argument<string>("FILE") { Description = "A file written by coffre backup" };
        var command = new Command("restore",
            "Restore a backup into a new data directory (--data; it must not exist or be empty). The whole file is decrypted " +
            $"and verified before anything is put in place. Passphrase: ${PassphraseEnvironmentVariable}, else asked.") { file };
        command.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            var passphrase = CliContext.ReadPassphrase(confirm: false, PassphraseEnvironmentVariable);
            var manifest = await Deployment.RestoreAsync(r.GetValue(file)!, cli.DataDirectory, passphrase, ct: ct);
            if (cli.Json) cli.WriteJson(new { dataDirectory = cli.DataDirectory, manifest.DeploymentId, manifest.Created, manifest.Database, manifest.Files });
            else
                Console.WriteLine($"Restored deployment {manifest.DeploymentId} (backup of {manifest.Created}) into {cli.DataDirectory}." +
                    (manifest.Files.Contains(BackupManifest.WorkingDirectoryConfiguration)
                        ? $" The working directory's appsettings.json is in {BackupManifest.WorkingDirectoryConfiguration}: put it back where coffre serve runs." : "") +
                    (manifest.Database == "postgresql" ? " Restore the PostgreSQL database from its pg_dump too." : ""));
            return ExitCodes.Ok;
        }));
        return command;
    }
}
