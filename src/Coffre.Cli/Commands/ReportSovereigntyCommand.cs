using System.CommandLine;
using Coffre.Server.Audit;
using Coffre.Server.Hosting;
using Coffre.Server.Reports;

namespace Coffre.Cli.Commands;

/// <summary>`coffre report sovereignty [BUCKET] --format md|json|html`: the report an auditor files (docs/operations.md).</summary>
public static class ReportSovereigntyCommand
{
    public static Command Create()
    {
        var bucketArg = new Argument<string?>("BUCKET") { Description = "Only this bucket (default: every bucket of the catalog and the configuration)", Arity = ArgumentArity.ZeroOrOne };
        var format = new Option<string>("--format") { Description = "md (default), json or html (one self-contained page)", DefaultValueFactory = _ => "md" };
        format.AcceptOnlyFromAmong("md", "json", "html");
        var output = new Option<string?>("--output", "-o") { Description = "Write the report to this file instead of stdout" };
        var command = new Command("sovereignty",
            "Per bucket: where every copy is (country, operator, jurisdiction, certifications, legal exposure, each with its source and date), " +
            "key custody and rotation compliance, audit chain status and newest published checkpoint, copies missing or under migration, and who " +
            $"could obtain the plaintext or deny access. Needs the root credential. Exit {ExitCodes.AuditFailure} when the audit trail does not verify.")
        { bucketArg, format, output };
        command.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            var options = cli.LoadConfiguration();
            using var deployment = cli.Open();
            var audit = await AuditStatus.CheckAsync(deployment, options, [], null, 2 * options.MaintenanceInterval, CliContext.Principal, ct);
            var report = await new SovereigntyReportBuilder(deployment, options, CliContext.Principal).BuildAsync(r.GetValue(bucketArg), audit, ct);
            var text = r.GetValue(format) switch
            {
                "json" => System.Text.Json.JsonSerializer.Serialize(report, CliContext.JsonOptions) + "\n",
                "html" => SovereigntyReportLayout.Document(report).ToHtml(),
                _ => SovereigntyReportLayout.Document(report).ToMarkdown(),
            };
            if (r.GetValue(output) is { } path) await File.WriteAllTextAsync(path, text, ct);
            else Console.Out.Write(text);
            return audit.Ok ? ExitCodes.Ok : ExitCodes.AuditFailure;
        }));
        return command;
    }
}
