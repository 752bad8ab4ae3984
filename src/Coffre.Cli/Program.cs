using System.CommandLine;
using Coffre.Cli;
using Coffre.Cli.Commands;
using Coffre.Server.Hosting;

// Before anything is created: databases, their journals, blobs and decrypted files are for this user only.
PrivateFiles.RestrictProcessUmask();

var root = new RootCommand(
    "Coffre: encrypt data before it reaches a cloud, with keys you generate, rotate and hold.\n" +
    "Key manager, file encryption, and an S3-compatible encrypting gateway (`coffre serve`).");
root.Options.Add(GlobalOptions.Data);
root.Options.Add(GlobalOptions.Json);
root.Subcommands.Add(InitCommand.Create());
root.Subcommands.Add(KeyCommands.Create());
root.Subcommands.Add(AccessKeyCommands.Create());
root.Subcommands.Add(FileCommands.CreateEncrypt());
root.Subcommands.Add(FileCommands.CreateDecrypt());
root.Subcommands.Add(AuditCommands.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(SealCommands.CreateSeal());
root.Subcommands.Add(SealCommands.CreateUnseal());
root.Subcommands.Add(SealCommands.CreateStatus());
root.Subcommands.Add(SealCommands.CreateRekey());
root.Subcommands.Add(RewrapCommand.Create());
root.Subcommands.Add(ReportCommands.Create());
root.Subcommands.Add(BackendCommands.Create());
root.Subcommands.Add(RepairCommand.Create());
root.Subcommands.Add(MigrateCommand.Create());
root.Subcommands.Add(RootCommands.Create());
root.Subcommands.Add(StoreCommands.Create());
root.Subcommands.Add(BackupCommands.CreateBackup());
root.Subcommands.Add(BackupCommands.CreateRestore());
root.Subcommands.Add(RecoverCommand.Create());
var parsed = root.Parse(args);
if (parsed.Action is System.CommandLine.Invocation.ParseErrorAction parseError)
{
    // Errors go to stderr only: stdout stays empty (or pure JSON with --json) for scripts.
    parseError.ShowHelp = false;
    var exit = await parsed.InvokeAsync(new InvocationConfiguration { Output = Console.Error });
    var command = string.Join(' ', parsed.CommandResult.Command is RootCommand ? ["coffre"] : CommandPath(parsed.CommandResult));
    Console.Error.WriteLine($"Run `{command} --help` for usage.");
    return exit == 0 ? ExitCodes.Usage : exit;
}
return await parsed.InvokeAsync();

static IEnumerable<string> CommandPath(System.CommandLine.Parsing.CommandResult result)
{
    var names = new Stack<string>();
    for (System.CommandLine.Parsing.SymbolResult? r = result; r is not null; r = r.Parent)
        if (r is System.CommandLine.Parsing.CommandResult c) names.Push(c.Command is RootCommand ? "coffre" : c.Command.Name);
    return names;
}
