using System.CommandLine;
using System.Text.Json;
using Coffre.Kms.Root;
using Coffre.Server.Hosting;

namespace Coffre.Cli.Commands;

/// <summary><c>coffre root migrate</c>: move the deployment to another root of trust (docs/operations.md, "Moving to another root").</summary>
public static class RootCommands
{
    public const string NewPassphraseEnvironmentVariable = "COFFRE_NEW_PASSPHRASE";

    public static Command Create()
    {
        var command = new Command("root", "The root of trust: move the deployment to another kind of root (coffre root migrate).");
        command.Subcommands.Add(CreateMigrate());
        return command;
    }

    private static Command CreateMigrate()
    {
        var to = new Option<string>("--to") { Description = "The new root: passphrase, shamir or hsm", Required = true };
        to.AcceptOnlyFromAmong("passphrase", "shamir", "hsm");
        var shares = new Option<int?>("--shares") { Description = "With --to shamir: number of shares (2..255)" };
        var threshold = new Option<int?>("--threshold") { Description = "With --to shamir: how many shares unseal (2..N)" };
        var hsmModule = new Option<string?>("--hsm-module") { Description = "With --to hsm: the PKCS#11 module (PIN from $COFFRE_HSM_PIN or $COFFRE_HSM_PIN_FILE)" };
        var hsmToken = new Option<string?>("--hsm-token") { Description = "With --to hsm: label of the token (never a slot number)" };
        var hsmKey = new Option<string?>("--hsm-key") { Description = "With --to hsm: label of the new root key on the token", DefaultValueFactory = _ => "coffre-root" };
        var command = new Command("migrate",
            "Move to a new root key under another root of trust, rewrapping every key version, access-key secret and the audit " +
            "checkpoint signing key (object data is not touched). The current root opens as usual ($COFFRE_PASSPHRASE, shares, " +
            $"HSM PIN); a new passphrase comes from ${NewPassphraseEnvironmentVariable} or a prompt. Offline: refused while coffre " +
            "serve or another command uses the data directory. Resumable: after an interruption run the same command again " +
            "(the new root's passphrase, shares or PIN are then asked for). Audited. root.seal switches atomically at the end.")
            { to, shares, threshold, hsmModule, hsmToken, hsmKey };
        command.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            if (!cli.IsInitialized)
                throw new CliException(ExitCodes.NotFound, $"No Coffre data directory at {cli.DataDirectory}: nothing to migrate.");
            var kind = r.GetValue(to) switch { "passphrase" => RootKind.Passphrase, "shamir" => RootKind.Shamir, _ => RootKind.Pkcs11 };
            var (n, k) = (r.GetValue(shares), r.GetValue(threshold));
            if (kind == RootKind.Shamir && (n is not { } count || k is not { } needed || needed < ShamirSecret.MinimumThreshold || needed > count || count > ShamirSecret.MaximumShares))
                throw new CliException(ExitCodes.Usage, "--to shamir needs --shares N --threshold K with 2 ≤ K ≤ N ≤ 255.");
            if (kind == RootKind.Pkcs11 && (r.GetValue(hsmModule) is null || r.GetValue(hsmToken) is null))
                throw new CliException(ExitCodes.Usage, "--to hsm needs --hsm-module PATH and --hsm-token LABEL.");
            var location = cli.Location;
            using var migration = RootMigration.Prepare(location);
            var principal = CliContext.Principal;
            var current = CliContext.OpenRoot(migration.SealPath, () => CliContext.ReadPassphrase(confirm: false));
            IReadOnlyList<string>? issued = null;
            var deployment = await migration.OpenAsync(current, (nextPath, deploymentId) => migration.Pending is not null
                ? CliContext.OpenRoot(nextPath, () => CliContext.ReadPassphrase(confirm: false, NewPassphraseEnvironmentVariable))
                : kind switch
                {
                    RootKind.Passphrase => SealedFileRoot.Initialize(nextPath,
                        CliContext.ReadPassphrase(confirm: true, NewPassphraseEnvironmentVariable), SealOptions.Default, null, deploymentId),
                    RootKind.Shamir => SealedFileRoot.InitializeShamir(nextPath, n!.Value, k!.Value, null, deploymentId,
                        texts => HandOut(cli, deploymentId, issued = texts, k.Value)).Root,
                    _ => Pkcs11Root.Initialize(nextPath, r.GetValue(hsmModule)!, r.GetValue(hsmToken)!, r.GetValue(hsmKey)!,
                        CliContext.HsmPin() ?? CliContext.ReadSecretLine("HSM PIN of the new root:", "HSM PIN"), TimeProvider.System, deploymentId),
                }, principal, kind);
            if (!cli.Json)
                Console.Error.WriteLine($"coffre: {(migration.Pending is null ? "migrating" : "resuming the migration of")} {cli.DataDirectory} " +
                    $"from a {RootMigration.Describe(migration.Current.Kind)} root to a {RootMigration.Describe(kind)} root");
            var result = await migration.RewrapAsync(principal, kind, new Progress<string>(line => Console.Error.WriteLine("coffre: " + line)));
            var credentials = RootCredentials.RewrapUnderNewRoot(cli.DataDirectory, deployment.Keys);
            await migration.CommitAsync(principal, result);
            if (cli.Json)
                Console.Out.WriteLine(JsonSerializer.Serialize(new
                {
                    dataDirectory = cli.DataDirectory,
                    deploymentId = migration.Current.DeploymentId,
                    from = RootMigration.Describe(result.From),
                    to = RootMigration.Describe(result.To),
                    resumed = result.Resumed,
                    keyVersions = new { rewrapped = result.KeyVersions, already = result.KeyVersionsAlready },
                    accessKeys = new { rewrapped = result.AccessKeys, already = result.AccessKeysAlready },
                    signingKey = result.SigningKey,
                    rootCredentials = credentials,
                }));
            else
                Console.WriteLine($"Migrated {cli.DataDirectory} to a {RootMigration.Describe(kind)} root: {result.KeyVersions + result.KeyVersionsAlready} key versions, " +
                    $"{result.AccessKeys + result.AccessKeysAlready} access keys{(result.SigningKey ? ", the checkpoint signing key" : "")}" +
                    $"{(credentials ? ", the stored root credentials" : "")} rewrapped. The previous root no longer opens this deployment.");
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>The new shares, before the new seal is written and before anything is rewrapped under it. With --json, one
    /// line of its own ahead of the result (compact JSON, one object per line).</summary>
    private static void HandOut(CliContext cli, string deploymentId, IReadOnlyList<string> shares, int threshold)
    {
        if (cli.Json) Console.Out.WriteLine(JsonSerializer.Serialize(new { deploymentId, threshold, shares }));
        else SealCommands.PrintShares(cli.DataDirectory, deploymentId, shares, threshold);
        Console.Out.Flush();
    }
}
