using System.CommandLine;
using Coffre.Objects;
using Coffre.Server.Hosting;
using Spectre.Console;

namespace Coffre.Cli.Commands;

/// <summary>`coffre rewrap`: move objects' data keys to their key's primary version, metadata only.</summary>
public static class RewrapCommand
{
    public static Command Create()
    {
        var bucket = new Option<string?>("--bucket") { Description = "Only objects of this bucket" };
        var key = new Option<string?>("--key") { Description = "Only objects protected by this key (name, id or alias)" };
        var rate = new Option<double?>("--rate") { Description = "At most this many objects per second (default: unlimited)" };
        var command = new Command("rewrap",
            "Wrap every object's data key again under the primary version of its key, without re-uploading any object data. " +
            "Safe to interrupt and run again; safe while `coffre serve` runs on the same data directory.") { bucket, key, rate };
        command.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            var options = cli.LoadConfiguration();
            using var deployment = cli.Open();
            var objects = new ObjectServices(options, deployment, TimeProvider.System);
            var request = new RewrapRequest(r.GetValue(bucket), r.GetValue(key), r.GetValue(rate));
            RewrapResult result;
            if (!cli.Json && !Console.IsOutputRedirected)
            {
                result = null!;
                await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                        new RemainingTimeColumn()).StartAsync(async progress =>
                {
                    var task = progress.AddTask("Rewrapping", maxValue: Math.Max(1, await objects.Rewrapper.PendingAsync(request, ct)));
                    result = await objects.Rewrapper.RunAsync(request, CliContext.Principal,
                        new Progress<RewrapProgress>(p => { task.MaxValue = Math.Max(1, p.Total); task.Value = p.Done + p.Skipped; }), ct);
                    task.Value = task.MaxValue;
                });
            }
            else
            {
                result = await objects.Rewrapper.RunAsync(request, CliContext.Principal, null, ct);
            }
            if (cli.Json)
                cli.WriteJson(new { rewrapped = result.Rewrapped, skipped = result.Skipped, remaining = result.Remaining });
            else
                Console.WriteLine($"{result.Rewrapped} object(s) rewrapped, {result.Skipped} skipped (replaced or deleted meanwhile), {result.Remaining} still below their key's primary version.");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
