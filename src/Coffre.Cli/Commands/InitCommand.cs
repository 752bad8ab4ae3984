using System.CommandLine;
using Coffre.Kms;
using Coffre.Kms.Root;
using Coffre.Server.Hosting;
using Coffre.Sqlite.Kms;

namespace Coffre.Cli.Commands;

public static class InitCommand
{
    public static Command Create()
    {
        var shares = new Option<int?>("--shares") { Description = "Seal the root key under N Shamir shares instead of a passphrase (2..255)" };
        var threshold = new Option<int?>("--threshold") { Description = "How many of the shares unseal (2..N; with --shares)" };
        var hsmModule = new Option<string?>("--hsm-module") { Description = "Generate the root key inside this PKCS#11 module's token (with --hsm-token, --hsm-key; PIN from $COFFRE_HSM_PIN or $COFFRE_HSM_PIN_FILE)" };
        var hsmToken = new Option<string?>("--hsm-token") { Description = "Label of the HSM token (never a slot number)" };
        var hsmKey = new Option<string?>("--hsm-key") { Description = "Label of the root key to create on the token", DefaultValueFactory = _ => "coffre-root" };
        var command = new Command("init",
            "Create a data directory: generate the root key and seal it under a passphrase " +
            $"(from ${CliContext.PassphraseEnvironmentVariable}, else asked twice), or under N Shamir shares of which K unseal " +
            "(--shares N --threshold K; each share is printed once and stored nowhere), or inside a PKCS#11 HSM (--hsm-module, --hsm-token).")
            { shares, threshold, hsmModule, hsmToken, hsmKey };
        command.SetAction((result, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(result);
            if (cli.IsInitialized)
                throw new CliException(ExitCodes.Conflict, $"{cli.DataDirectory} is already initialised; nothing was changed.");
            var (n, k) = (result.GetValue(shares), result.GetValue(threshold));
            if (n is null != k is null)
                throw new CliException(ExitCodes.Usage, "--shares and --threshold go together (e.g. --shares 5 --threshold 3).");
            IReadOnlyList<string>? issued = null;
            Deployment deployment;
            if (result.GetValue(hsmModule) is { } module)
            {
                var token = result.GetValue(hsmToken) ?? throw new CliException(ExitCodes.Usage, "--hsm-module needs --hsm-token LABEL.");
                var pin = CliContext.HsmPin() ?? CliContext.ReadSecretLine("HSM PIN:", "HSM PIN");
                deployment = await Deployment.InitializeHsmAsync(cli.Location, module, token, result.GetValue(hsmKey)!, pin);
            }
            else if (n is { } count && k is { } needed)
            {
                if (needed < ShamirSecret.MinimumThreshold || needed > count || count > ShamirSecret.MaximumShares)
                    throw new CliException(ExitCodes.Usage, $"Shamir sharing needs 2 ≤ --threshold ≤ --shares ≤ 255 ({needed} of {count} given).");
                (deployment, issued) = await Deployment.InitializeShamirAsync(cli.Location, count, needed);
            }
            else
            {
                deployment = await Deployment.InitializeAsync(cli.Location, CliContext.ReadPassphrase(confirm: true));
            }
            using var _ = deployment;
            var keys = deployment.Keys;
            if (cli.Json)
                cli.WriteJson(new
                {
                    dataDirectory = cli.DataDirectory,
                    deploymentId = keys.DeploymentId,
                    sealFile = Path.Combine(cli.DataDirectory, Deployment.SealFileName),
                    keyStore = Path.Combine(cli.DataDirectory, SqliteKeyDatabase.FileName),
                    threshold = k,
                    shares = issued,
                });
            else if (issued is not null)
                SealCommands.PrintShares(cli.DataDirectory, keys.DeploymentId, issued, k!.Value);
            else
                Console.WriteLine($"Initialised {cli.DataDirectory} (deployment {keys.DeploymentId}). Keep the passphrase safe: without it the data cannot be decrypted.");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
