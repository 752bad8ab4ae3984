using System.CommandLine;
using Coffre.Objects.Placement;
using Coffre.Server.Hosting;
using Coffre.Storage.Placement;

namespace Coffre.Cli.Commands;

/// <summary>`coffre migrate BUCKET --to BACKEND [--from BACKEND] [--delete-source]`: moves a bucket's copies between backends, online, without keys.</summary>
public static class MigrateCommand
{
    public static Command Create()
    {
        var bucketArg = new Argument<string>("BUCKET") { Description = "The bucket to move" };
        var to = new Option<string>("--to") { Description = "The backend that receives the copies (a name of Coffre:Backends)", Required = true };
        var from = new Option<string?>("--from") { Description = "The backend whose copies move (needed when the bucket has copies on several)" };
        var deleteSource = new Option<bool>("--delete-source") { Description = "Delete the source copies once the bucket is switched and every copy verified" };
        var parallel = new Option<int>("--parallel") { Description = "Blobs copied at once", DefaultValueFactory = _ => 8 };
        var command = new Command("migrate",
            "Copies a bucket's ciphertext to another backend as it is (no key is used), verifies every copy (length and SHA-256 read back), " +
            "then switches the bucket's placement to it, while servers keep reading and writing the bucket (they write to both sides meanwhile). " +
            "Resumes where a killed run stopped: run the same command again. Progress on stderr (JSON lines with --json); " +
            $"exit {ExitCodes.Conflict} when another migration of the bucket is under way, {ExitCodes.BackendUnavailable} when a copy fails.")
        { bucketArg, to, from, deleteSource, parallel };
        command.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            var options = cli.LoadConfiguration();
            if (BackendsConfiguration.Create(options, cli.DataDirectory) is not PlacementBlobStore store)
                throw new CliException(ExitCodes.Usage, "Only one backend and no placement policy are configured: there is nowhere to migrate to (see Coffre:Backends in docs/operations.md).");
            using var _ = store;
            store.RecordCopiesIn(Deployment.OpenBlobCopies(cli.Location));
            var catalog = Deployment.OpenCatalogIfAny(cli.Location, TimeProvider.System)
                ?? throw new CliException(ExitCodes.NotFound, $"No bucket named '{r.GetValue(bucketArg)}': the data directory has no catalog yet.");
            var migration = new BucketMigration(catalog, store, Deployment.OpenPlacementStates(cli.Location), TimeProvider.System);
            var request = new MigrationRequest(r.GetValue(bucketArg)!, r.GetValue(to)!, r.GetValue(from), r.GetValue(deleteSource), Math.Max(1, r.GetValue(parallel)));
            MigrationResult result;
            try
            {
                result = await migration.RunAsync(request, new ProgressPrinter(cli.Json), ct);
            }
            catch (MigrationException e)
            {
                throw new CliException(e.Error switch
                {
                    MigrationError.Conflict => ExitCodes.Conflict,
                    MigrationError.CopyFailed or MigrationError.CopyMismatch => ExitCodes.BackendUnavailable,
                    _ => ExitCodes.Usage,
                }, e.Message);
            }
            catch (Coffre.Storage.BlobStoreException e)
            {
                throw new CliException(ExitCodes.BackendUnavailable, $"{e.Message} The migration stopped; run the same command again to resume it.");
            }
            if (cli.Json)
                cli.WriteJson(new
                {
                    bucket = result.Bucket, from = result.From, to = result.To, backends = result.Backends, objects = result.Objects, bytes = result.Bytes,
                    copiedWhenVerifying = result.CopiedInVerification, sourceObjectsDeleted = result.SourceCopiesDeleted, seconds = result.Elapsed.TotalSeconds,
                });
            else
                Console.WriteLine($"Bucket {result.Bucket} moved from {result.From} to {result.To}: {result.Objects} object(s), {Bytes(result.Bytes)} of ciphertext " +
                    $"in {result.Elapsed.TotalSeconds:F1} s; its placement is now {string.Join(", ", result.Backends)}" +
                    (result.SourceCopiesDeleted > 0 ? $"; {result.SourceCopiesDeleted} object(s)' source copies deleted." : "."));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static string Bytes(double n) => n switch
    {
        >= 1 << 30 => $"{n / (1 << 30):F2} GiB",
        >= 1 << 20 => $"{n / (1 << 20):F1} MiB",
        >= 1 << 10 => $"{n / (1 << 10):F1} KiB",
        _ => $"{n} B",
    };

    /// <summary>One line per page on stderr: human text, or a JSON object per line for scripts.</summary>
    private sealed class ProgressPrinter(bool json) : IProgress<MigrationProgress>
    {
        public void Report(MigrationProgress p)
        {
            if (json)
                Console.Error.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
                {
                    phase = p.Phase.ToString().ToLowerInvariant(), objects = p.Objects, totalObjects = p.TotalObjects, bytes = p.Bytes, totalBytes = p.TotalBytes,
                    bytesPerSecond = Math.Round(p.BytesPerSecond), etaSeconds = p.Eta?.TotalSeconds is { } eta ? Math.Round(eta) : (double?)null,
                }));
            else
                Console.Error.WriteLine($"migrate: {p.Bucket} {p.From} -> {p.To}: {p.Phase.ToString().ToLowerInvariant()} {p.Objects}/{p.TotalObjects} object(s), " +
                    $"{Bytes(p.Bytes)}/{Bytes(p.TotalBytes)}, {Bytes(p.BytesPerSecond)}/s" + (p.Eta is { } e ? $", ETA {e:hh\\:mm\\:ss}" : ""));
        }
    }
}
