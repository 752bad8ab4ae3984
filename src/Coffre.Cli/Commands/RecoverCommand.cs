using System.CommandLine;
using Coffre.Objects.Manifests;
using Coffre.Server.Hosting;

namespace Coffre.Cli.Commands;

/// <summary>`coffre recover [BUCKET]`: rebuilds the catalog from the backends' manifests and the key store (docs/operations.md, "Recovering the catalog").</summary>
public static class RecoverCommand
{
    /// <summary>What the recovered versions cannot prove, whichever way they were found.</summary>
    public const string RollbackNotice =
        "The backends alone cannot prove that a version is the newest: a provider that withholds a version's manifest and blobs, " +
        "or a delete marker, is not detected. Compare with a catalog backup (coffre restore onto another data directory) for " +
        "everything written before it; what was written after the newest backup is unproven.";

    public static Command Create()
    {
        var bucketArg = new Argument<string?>("BUCKET") { Description = "Only this bucket (default: every bucket found)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("recover",
            "Rebuilds the catalog (buckets, object names, versions, metadata, part lists) from the manifests every backend holds beside the " +
            "ciphertext and the key store, after catalog.db is lost or damaged. Each manifest is decrypted with its data key and its parts' " +
            "headers are checked at the backend; versions are added oldest first. Versions already in the catalog are skipped, so an " +
            "interrupted run resumes by running it again. Stop coffre serve first. " +
            $"Exit {ExitCodes.AuthenticationFailed} when a manifest could not be opened or its parts are missing or damaged, " +
            $"{ExitCodes.BackendUnavailable} when a backend could not be listed.") { bucketArg };
        command.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            var options = cli.LoadConfiguration();
            using var deployment = cli.Open();
            var objects = new ObjectServices(options, deployment, TimeProvider.System);
            using var _ = objects.Blobs as IDisposable;
            var recovery = new CatalogRecovery(objects.Catalog, objects.Blobs, new KmsDataKeyService(deployment.Keys));
            var shown = DateTime.MinValue;
            string? phase = null;
            var progress = cli.Json ? null : new SynchronousProgress<RecoveryProgress>(p =>
            {
                // A line per second at most, and the first and last of each phase.
                if (p.Phase == phase && p.Done != p.Total && DateTime.UtcNow - shown < TimeSpan.FromSeconds(1)) return;
                (shown, phase) = (DateTime.UtcNow, p.Phase);
                Console.Error.WriteLine($"recover: {(p.Phase == "open" ? "manifests opened" : "versions restored")} {p.Done}/{p.Total}");
            });
            var report = await recovery.RunAsync(r.GetValue(bucketArg), CliContext.Principal, progress, ct);
            if (cli.Json)
                cli.WriteJson(new
                {
                    buckets = report.Buckets.Select(b => new { bucket = b.Name, objects = b.Objects, versionsRestored = b.Versions, versionsAlreadyPresent = b.AlreadyPresent }),
                    manifestsFound = report.ManifestsFound,
                    unmatched = report.Unmatched.Select(p => new { blob = p.Blob, problem = p.Problem }),
                    unreachableBackends = report.UnreachableBackends,
                    newestVersionsProven = false,
                    rollbackProtection = RollbackNotice,
                });
            else
            {
                foreach (var b in report.Buckets)
                    Console.WriteLine($"{b.Name}: {b.Objects} object(s), {b.Versions} version(s) restored, {b.AlreadyPresent} already in the catalog.");
                Console.WriteLine($"{report.ManifestsFound} manifest(s) found.");
                foreach (var p in report.Unmatched) Console.WriteLine($"NOT RECOVERED {p.Blob}: {p.Problem}");
                if (report.UnreachableBackends.Count > 0)
                    Console.WriteLine($"Unreachable: {string.Join(", ", report.UnreachableBackends)} (run coffre recover again once they are back).");
                Console.WriteLine(RollbackNotice);
            }
            return report.Unmatched.Count > 0 ? ExitCodes.AuthenticationFailed
                : report.UnreachableBackends.Count > 0 ? ExitCodes.BackendUnavailable : ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>Reports on the caller's thread (Progress&lt;T&gt; posts to the thread pool: lines would arrive after the summary).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        private readonly Lock _gate = new();

        public void Report(T value)
        {
            lock (_gate) report(value);
        }
    }
}
