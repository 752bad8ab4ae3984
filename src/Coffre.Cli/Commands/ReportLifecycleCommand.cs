using System.CommandLine;
using System.Globalization;
using Coffre.Objects.Lifecycle;
using Spectre.Console;

namespace Coffre.Cli.Commands;

/// <summary>`coffre report lifecycle`: every bucket's lifecycle rules and what their last pass did, from the catalog.</summary>
public static class ReportLifecycleCommand
{
    public static Command Create()
    {
        var command = new Command("lifecycle",
            "Per bucket: its lifecycle rules (filter and actions) and what the last pass of each did: objects expired, noncurrent versions " +
            "deleted, delete markers removed, uploads aborted, and versions left alone because Object Lock protects them.");
        command.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            using var deployment = cli.Open();
            var buckets = deployment.HasCatalog ? await LifecycleConfiguration.ListAsync(deployment.OpenCatalog(), ct) : [];
            var rows = buckets.Select(b => new
            {
                bucket = b.Bucket,
                lastRun = b.LastRun?.Finished,
                rules = b.Configuration.Rules.Select(rule => new
                {
                    id = rule.Id,
                    enabled = rule.Enabled,
                    filter = Describe(rule.Filter),
                    actions = Actions(rule),
                    lastRun = b.LastRun?.Rules.FirstOrDefault(x => x.Id == rule.Id),
                }).ToList(),
            }).ToList();
            if (cli.Json)
            {
                cli.WriteJson(rows);
                return ExitCodes.Ok;
            }
            if (rows.Count == 0)
            {
                Console.WriteLine("No bucket has a lifecycle configuration.");
                return ExitCodes.Ok;
            }
            var table = new Table().AddColumns("Bucket", "Rule", "Status", "Filter", "Actions", "Last pass (UTC)", "Expired", "Noncurrent deleted",
                "Markers removed", "Uploads aborted", "Left (locked)");
            foreach (var b in rows)
                foreach (var rule in b.rules)
                {
                    var run = rule.lastRun;
                    table.AddRow(Markup.Escape(b.bucket), Markup.Escape(rule.id), rule.enabled ? "Enabled" : "Disabled", Markup.Escape(rule.filter),
                        Markup.Escape(rule.actions), b.lastRun?.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "never",
                        N(run?.Expired), N(run?.NoncurrentDeleted), N(run?.DeleteMarkersRemoved), N(run?.UploadsAborted), N(run?.SkippedLocked));
                }
            AnsiConsole.Write(table);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static string N(long? n) => n?.ToString(CultureInfo.InvariantCulture) ?? "-";

    private static string Describe(LifecycleFilter f)
    {
        var parts = new List<string>();
        if (f.Prefix.Length > 0) parts.Add($"prefix {f.Prefix}");
        foreach (var (k, v) in f.Tags ?? []) parts.Add($"tag {k}={v}");
        if (f.SizeGreaterThan is { } g) parts.Add($"size > {g}");
        if (f.SizeLessThan is { } l) parts.Add($"size < {l}");
        return parts.Count == 0 ? "every object" : string.Join(", ", parts);
    }

    private static string Actions(LifecycleRule r)
    {
        var parts = new List<string>();
        if (r.ExpirationDays is { } d) parts.Add($"expire after {d} d");
        if (r.ExpirationDate is { } date) parts.Add($"expire on {date:yyyy-MM-dd}");
        if (r.ExpiredObjectDeleteMarker) parts.Add("remove lone delete markers");
        if (r.NoncurrentDays is { } n) parts.Add($"delete noncurrent after {n} d{(r.NewerNoncurrentVersions is { } k ? $" (keep {k} newest)" : "")}");
        if (r.AbortIncompleteUploadDays is { } a) parts.Add($"abort uploads after {a} d");
        return string.Join("; ", parts);
    }
}
