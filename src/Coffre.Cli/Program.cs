using System.CommandLine;
using Coffre.Cli;
using Coffre.Cli.Commands;

var root = new RootCommand(
    "Coffre: encrypt data before it reaches a cloud, with keys you generate, rotate and hold.\n" +
    "Key manager, file encryption, and an S3-compatible encrypting gateway (`coffre serve`).");
root.Options.Add(GlobalOptions.Data);
root.Options.Add(GlobalOptions.Json);
root.Subcommands.Add(InitCommand.Create());
root.Subcommands.Add(KeyCommands.Create());
root.Subcommands.Add(FileCommands.CreateEncrypt());
root.Subcommands.Add(FileCommands.CreateDecrypt());
root.Subcommands.Add(AuditCommands.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(RewrapCommand.Create());
root.Subcommands.Add(ReportCommands.Create());
return await root.Parse(args).InvokeAsync();
