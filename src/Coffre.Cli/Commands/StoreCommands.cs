using System.CommandLine;
using System.Text.Json;
using Coffre.Postgres;
using Coffre.Server.Hosting;

namespace Coffre.Cli.Commands;

/// <summary><c>coffre store migrate --to postgresql://…</c>: move a data directory's SQLite state into PostgreSQL
/// (docs/operations.md, "Moving a data directory to PostgreSQL").</summary>
public static class StoreCommands
{
    public static Command Create()
    {
        var command = new Command("store", "Where the deployment keeps its keys, audit trail and catalog: move them into PostgreSQL (coffre store migrate).");
        command.Subcommands.Add(CreateMigrate());
        return command;
    }

    private static Command CreateMigrate()
    {
        var to = new Option<string>("--to")
        {
            Description = "The PostgreSQL database: postgresql://USER@HOST:PORT/DATABASE[?sslmode=verify-full&sslrootcert=FILE] or an Npgsql " +
                "connection string; the password from PGPASSWORD or PGPASSFILE (or the URI)",
            Required = true,
        };
        var command = new Command("migrate",
            "Copy the data directory's keys.db (keys, versions, aliases, access keys, the audit trail with its hashes and signed checkpoints) and " +
            "catalog.db (buckets, every object version, multipart uploads, garbage list, placement states) into an empty PostgreSQL database; " +
            "no key is used and nothing is decrypted. The audit chain is verified on arrival. Offline: refused while coffre serve or another " +
            $"command uses the data directory (exit {ExitCodes.Conflict}). Resumable: after an interruption run the same command again; " +
            "until it finishes the database refuses to be opened. The SQLite files stay as they were. Then set Coffre:Database and start coffre serve. " +
            "Progress on stderr (JSON lines with --json).") { to };
        command.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            if (!cli.IsInitialized)
                throw new CliException(ExitCodes.NotFound, $"No Coffre data directory at {cli.DataDirectory}: nothing to migrate.");
            if (cli.Location.Database is not null)
                throw new CliException(ExitCodes.Usage,
                    $"{cli.DataDirectory} is configured with Coffre:Database already: its keys and catalog are in PostgreSQL, not in its SQLite files.");
            string target;
            try
            {
                target = PostgresSettings.FromUriOrConnectionString(r.GetValue(to)!);
            }
            catch (ArgumentException e)
            {
                throw new CliException(ExitCodes.Usage, "--to " + e.Message);
            }
            var bar = new ProgressBar(cli.Json);
            var result = await Deployment.MigrateStoreAsync(cli.DataDirectory, target, bar, ct);
            bar.End();
            if (cli.Json)
                cli.WriteJson(new
                {
                    dataDirectory = cli.DataDirectory,
                    deploymentId = result.DeploymentId,
                    target = result.Target,
                    resumed = result.Resumed,
                    rows = result.Rows,
                    catalog = result.Catalog is { } c ? new { c.Buckets, c.Objects, c.Uploads, c.Parts, c.Garbage } : null,
                    placementStates = result.PlacementStates,
                    audit = new { verified = result.Audit.Ok, records = result.Audit.RecordsChecked, head = result.AuditHead },
                });
            else
                Console.WriteLine($"Moved {cli.DataDirectory} into the {result.Target}{(result.Resumed ? " (resumed)" : "")}: {result.Rows["keys"]} key(s), " +
                    $"{result.Rows["key_versions"]} version(s), {result.Rows["aliases"]} alias(es), {result.Rows["access_keys"]} access key(s), " +
                    $"{result.Audit.RecordsChecked} audit record(s) verified (head #{result.AuditHead}), {result.Rows["audit_checkpoint_chain"]} signed checkpoint(s)" +
                    (result.Catalog is { } k ? $", {k.Buckets} bucket(s), {k.Objects} object version(s), {k.Uploads} upload(s), {result.PlacementStates} placement state(s)" : "") +
                    ". Set Coffre:Database to this database (keep root.seal in the data directory) and start coffre serve; keys.db and catalog.db " +
                    "are no longer used then: keep them until you have checked the new deployment, then remove them.");
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>
    /// Progress on stderr: a bar per part redrawn in place on a terminal, else a line when a part starts, ends or moves
    /// by a tenth (logs stay short); with --json one object per line.
    /// </summary>
    private sealed class ProgressBar(bool json) : IProgress<StoreMigrationProgress>
    {
        private const int Width = 30;
        private readonly bool _terminal = !Console.IsErrorRedirected;
        private string? _part;
        private long _shown = -1;

        public void Report(StoreMigrationProgress p)
        {
            var step = p.Total is > 0 and var total ? p.Done * 10 / total : p.Done / 1000;
            var newPart = p.Part != _part;
            if (!_terminal && !json && !newPart && step == _shown && p.Done != p.Total) return;
            if (json)
            {
                Console.Error.WriteLine(JsonSerializer.Serialize(new { part = p.Part, done = p.Done, total = p.Total }));
                return;
            }
            if (_terminal && newPart && _part is not null) Console.Error.WriteLine();
            (_part, _shown) = (p.Part, step);
            var text = p.Total is { } all
                ? $"store migrate: {p.Part,-22} [{new string('#', all == 0 ? Width : (int)(p.Done * Width / all)),-Width}] {p.Done}/{all}"
                : $"store migrate: {p.Part,-22} {p.Done}";
            if (_terminal) Console.Error.Write("\r" + text);
            else Console.Error.WriteLine(text);
        }

        /// <summary>Ends the bar's line on a terminal, before the result.</summary>
        public void End()
        {
            if (_terminal && !json && _part is not null) Console.Error.WriteLine();
        }
    }
}
