using System.CommandLine;
using Coffre.Kms;
using Coffre.Server.Hosting;
using Coffre.Sqlite.Kms;

namespace Coffre.Cli.Commands;

public static class InitCommand
{
    public static Command Create()
    {
        var command = new Command("init",
            "Create a data directory: generate the root key and seal it under a passphrase " +
            $"(from ${CliContext.PassphraseEnvironmentVariable}, else asked twice).");
        command.SetAction((result, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(result);
            if (cli.IsInitialized)
                throw new CliException(ExitCodes.Conflict, $"{cli.DataDirectory} is already initialised; nothing was changed.");
            var passphrase = CliContext.ReadPassphrase(confirm: true);
            using var deployment = await Deployment.InitializeAsync(cli.Location, passphrase);
            var keys = deployment.Keys;
            if (cli.Json)
                cli.WriteJson(new
                {
                    dataDirectory = cli.DataDirectory,
                    deploymentId = keys.DeploymentId,
                    sealFile = Path.Combine(cli.DataDirectory, Deployment.SealFileName),
                    keyStore = Path.Combine(cli.DataDirectory, SqliteKeyDatabase.FileName),
                });
            else
                Console.WriteLine($"Initialised {cli.DataDirectory} (deployment {keys.DeploymentId}). Keep the passphrase safe: without it the data cannot be decrypted.");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
