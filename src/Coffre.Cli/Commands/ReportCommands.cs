using System.CommandLine;
using Coffre.Kms.Keys;
using Coffre.Objects;
using Coffre.Server.Hosting;
using Spectre.Console;

namespace Coffre.Cli.Commands;

/// <summary>`coffre report ...`: what a security officer shows an auditor.</summary>
public static class ReportCommands
{
    public static Command Create()
    {
        var report = new Command("report", "Reports for auditors: keys and their compliance, and what a key protects.");

        var keysCommand = new Command("keys", "Per key: versions and states, rotation policy and whether it is overdue, objects per version, " +
            "and the protocol faces (s3, xks, ...) that used it with their last use, from the audit trail.");
        keysCommand.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            using var deployment = cli.Open();
            var keys = deployment.Keys;
            var counts = OpenImpact(deployment) is { } impact ? await impact.CountByKeyVersionAsync(ct) : new Dictionary<(string, int), long>();
            var faces = await KeyFaceUse.ReadAsync(keys, CliContext.Principal, ct);
            var now = DateTimeOffset.UtcNow;
            var rows = keys.ListKeys(CliContext.Principal).Select(k => new
            {
                name = k.Name,
                id = k.Id,
                state = k.State,
                primaryVersion = k.PrimaryVersion,
                rotationPeriod = k.RotationPeriod is { } p ? Durations.Format(p) : null,
                nextRotation = k.NextRotation,
                rotationOverdue = k.State == KeyState.Enabled && k.NextRotation is { } n && n < now,
                destructionDate = k.DestructionDate,
                versions = k.Versions.Select(v => new { version = v.Version, state = v.State, created = v.Created, objects = counts.GetValueOrDefault((k.Id, v.Version)) }).ToList(),
                faces = faces.GetValueOrDefault(k.Id, []).Select(f => new { face = f.Face, uses = f.Uses, refused = f.Refused, lastUse = f.LastUse }).ToList(),
            }).ToList();
            if (cli.Json)
            {
                cli.WriteJson(rows);
                return ExitCodes.Ok;
            }
            var table = new Table().AddColumns("Key", "State", "Rotation", "Compliance", "Version", "Version state", "Objects", "Faces (uses, last use UTC)");
            foreach (var k in rows)
            {
                var used = k.faces.Count == 0 ? "-" : string.Join("\n", k.faces.Select(f =>
                    $"{f.face}: {f.uses}{(f.refused > 0 ? $" (+{f.refused} refused)" : "")}, {(f.lastUse is { } t ? t.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) : "never")}"));
                var first = true;
                foreach (var v in k.versions)
                {
                    table.AddRow(Markup.Escape(k.name), k.state.ToString(), k.rotationPeriod ?? "manual",
                        k.rotationOverdue ? "[red]rotation overdue[/]" : k.rotationPeriod is null ? "no policy" : "ok",
                        (v.version == k.primaryVersion ? "v" + v.version + " (primary)" : "v" + v.version), v.state.ToString(), v.objects.ToString(),
                        first ? Markup.Escape(used) : "");
                    first = false;
                }
            }
            AnsiConsole.Write(table);
            return ExitCodes.Ok;
        }));
        report.Subcommands.Add(keysCommand);

        var keyArg = new Argument<string>("KEY") { Description = "Key name, id or alias" };
        var version = new Option<int?>("--version") { Description = "Only this version" };
        var impact = new Command("impact",
            "Which buckets and objects are protected by a key (or one version): exactly what becomes unreadable if it is destroyed.") { keyArg, version };
        impact.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            using var deployment = cli.Open();
            var keys = deployment.Keys;
            var info = keys.DescribeKey(r.GetValue(keyArg)!, CliContext.Principal);
            await WriteImpactAsync(cli, deployment, info, r.GetValue(version), ct);
            return ExitCodes.Ok;
        }));
        report.Subcommands.Add(impact);
        report.Subcommands.Add(ReportSovereigntyCommand.Create());
        report.Subcommands.Add(ReportLifecycleCommand.Create());
        return report;
    }

    /// <summary>The impact report, also printed by `coffre key destroy` before it schedules anything.</summary>
    public static async Task WriteImpactAsync(CliContext cli, Deployment deployment, KeyInfo key, int? version, CancellationToken ct)
    {
        var objects = OpenImpact(deployment) is { } impact ? await impact.ObjectsUnderKeyAsync(key.Id, version, ct) : [];
        var byBucket = objects.GroupBy(o => o.Bucket).Select(g => new
        {
            bucket = g.Key,
            count = g.Count(),
            objects = g.Select(o => new { name = o.Name, version = o.Version }).ToList(),
        }).ToList();
        if (cli.Json)
        {
            cli.WriteJson(new { key = key.Name, keyId = key.Id, version, objectCount = objects.Count, buckets = byBucket });
            return;
        }
        var scope = version is { } v ? $"version v{v} of key {key.Name}" : $"key {key.Name}";
        if (objects.Count == 0)
        {
            Console.WriteLine($"No object in the catalog is protected by {scope}. (Files encrypted with `coffre encrypt` are not tracked.)");
            return;
        }
        Console.WriteLine($"{objects.Count} object(s) in {byBucket.Count} bucket(s) are protected by {scope}:");
        foreach (var b in byBucket)
        {
            Console.WriteLine($"  {b.bucket}: {b.count}");
            foreach (var o in b.objects) Console.WriteLine($"    {o.name}  (v{o.version})");
        }
    }

    /// <summary>Null when the deployment has no catalog yet (no object was ever stored): not created by a report.</summary>
    private static KeyImpact? OpenImpact(Deployment deployment) => deployment.HasCatalog ? new KeyImpact(deployment.OpenCatalog()) : null;
}
