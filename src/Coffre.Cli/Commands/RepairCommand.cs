using System.CommandLine;
using System.Text.Json;
using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Objects.Placement;
using Coffre.Server.Hosting;
using Coffre.Storage.Placement;

namespace Coffre.Cli.Commands;

/// <summary>`coffre repair [BUCKET]`: rewrites the missing or damaged copies of every object's blobs, without keys.</summary>
public static class RepairCommand
{
    /// <summary>Where an interrupted repair resumes: per bucket, the last name whose versions' copies were all checked.</summary>
    public const string StateFileName = "repair.state.json";

    public static Command Create()
    {
        var bucketArg = new Argument<string?>("BUCKET") { Description = "Only this bucket (default: all)", Arity = ArgumentArity.ZeroOrOne };
        var restart = new Option<bool>("--restart") { Description = "Ignore where an interrupted repair stopped and check everything again" };
        // Reading every copy is the default: only a read finds a copy a provider lost or damaged behind Coffre's back,
        // which is what an operator running a repair after an incident is looking for. The record is the fast path.
        var fromRecord = new Option<bool>("--from-record")
        {
            Description = "Check only the blobs the record of copies shows missing a copy (or does not know): reads nothing from the backends for a healthy bucket, " +
                          "but does not find copies a provider lost or damaged behind Coffre's back",
        };
        var command = new Command("repair",
            "Checks every copy of every object version's ciphertext on the backends its bucket's placement requires (length, header and SHA-256; " +
            "no key is used) and rewrites missing or damaged copies from a good one; --from-record checks only the blobs the record of copies shows missing. " +
            "Resumes where an interrupted run stopped. " +
            $"Exit {ExitCodes.BackendUnavailable} when a backend could not be reached, {ExitCodes.AuthenticationFailed} when a blob has no good copy " +
            "or its copies disagree with no majority.") { bucketArg, restart, fromRecord };
        command.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            var options = cli.LoadConfiguration();
            if (BackendsConfiguration.Create(options, cli.DataDirectory) is not PlacementBlobStore store)
                throw new CliException(ExitCodes.Usage, "Only one backend and no placement policy are configured: there are no copies to repair (see Coffre:Backends in docs/operations.md).");
            using var _ = store;
            store.Placement.Apply(await Deployment.OpenPlacementStates(cli.Location).ListAsync(ct)); // a migration's switch and its writes to both sides
            store.RecordCopiesIn(Deployment.OpenBlobCopies(cli.Location)); // what this pass finds is recorded
            var statePath = Path.Combine(cli.DataDirectory, StateFileName);
            var state = !r.GetValue(restart) && File.Exists(statePath)
                ? JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(statePath)) ?? [] : [];
            var catalog = Deployment.OpenCatalogIfAny(cli.Location, TimeProvider.System);
            var buckets = catalog is null ? [] : r.GetValue(bucketArg) is { } only
                ? [(await catalog.GetBucketAsync(only, ct))?.Name ?? throw new CliException(ExitCodes.NotFound, $"No bucket named '{only}' in the catalog.")]
                : (await catalog.ListBucketsAsync(ct)).Select(b => b.Name).ToList();
            var repair = new CatalogRepair(catalog!, store, TimeProvider.System, verify: !r.GetValue(fromRecord));
            var report = new List<object>();
            long objects = 0, blobs = 0, rewritten = 0;
            var problems = new List<RepairOutcome>();
            var unreachable = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var bucket in buckets)
            {
                var copies = store.Placement.CopiesOf(bucket);
                var after = state.GetValueOrDefault(bucket);
                if (after is not null && !cli.Json) Console.Error.WriteLine($"repair: {bucket}: resuming after '{after}'");
                var cursor = VersionCursor.After(after);
                long bucketObjects = 0, bucketRewritten = 0;
                while (true)
                {
                    (cursor, var more) = await repair.RepairPageAsync(bucket, cursor, (record, outcomes) =>
                    {
                        foreach (var outcome in outcomes)
                        {
                            blobs++;
                            bucketRewritten += outcome.Rewritten.Count;
                            unreachable.UnionWith(outcome.Unreachable);
                            if (outcome.Problem is not null) problems.Add(outcome with { Key = $"{bucket}/{record.Name} ({outcome.Key})" });
                            if (outcome.Rewritten.Count > 0 && !cli.Json)
                                Console.Error.WriteLine($"repair: {bucket}/{record.Name}: rewrote {outcome.Key} on {string.Join(", ", outcome.Rewritten)}");
                        }
                        objects++;
                        bucketObjects++;
                    }, ct);
                    state[bucket] = cursor.Done ?? "";
                    SaveState(statePath, state);
                    if (!cli.Json) Console.Error.WriteLine($"repair: {bucket}: {bucketObjects} object(s) checked, {bucketRewritten} copie(s) rewritten");
                    if (!more) break;
                }
                rewritten += bucketRewritten;
                report.Add(new { bucket, copies, objects = bucketObjects, copiesRewritten = bucketRewritten });
            }
            // Finished: the next run starts from the beginning.
            File.Delete(statePath);
            if (cli.Json)
                cli.WriteJson(new
                {
                    buckets = report, objects, blobs, copiesRewritten = rewritten, unreachable,
                    problems = problems.Select(p => new { blob = p.Key, problem = p.Problem }),
                });
            else
            {
                Console.WriteLine($"{objects} object(s), {blobs} blob(s) checked; {rewritten} copie(s) rewritten.");
                foreach (var p in problems) Console.WriteLine($"NOT REPAIRED {p.Key}: {p.Problem}");
                if (unreachable.Count > 0) Console.WriteLine($"Unreachable: {string.Join(", ", unreachable)} (run `coffre repair` again once they are back).");
            }
            return problems.Count > 0 ? ExitCodes.AuthenticationFailed : unreachable.Count > 0 ? ExitCodes.BackendUnavailable : ExitCodes.Ok;
        }));
        return command;
    }

    private static void SaveState(string path, Dictionary<string, string> state)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(state));
        File.Move(temp, path, overwrite: true);
    }
}
