using System.CommandLine;
using Coffre.Kms.Keys;
using Coffre.Kms.Root;
using Coffre.Server.Admin;

namespace Coffre.Cli.Commands;

/// <summary>
/// `coffre seal`, `coffre unseal`, `coffre status` against a running server's admin API, and `coffre rekey` on the data
/// directory (docs/operations.md, "Sealing and unsealing").
/// </summary>
public static class SealCommands
{
    private static Option<string> Endpoint() => new("--endpoint")
    {
        Description = $"URL of the running Coffre server (default {AdminClient.DefaultEndpoint})",
        DefaultValueFactory = _ => AdminClient.DefaultEndpoint,
    };

    public static Command CreateSeal()
    {
        var endpoint = Endpoint();
        var command = new Command("seal",
            "Seal a running server at once: its root key and every unwrapped key are zeroed, and every key use is refused (503) " +
            "until unsealed. Signed with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY of an access key with the admin grant.") { endpoint };
        command.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            using var admin = new AdminClient(r.GetValue(endpoint)!);
            var status = await admin.SendAsync<SealStatusBody>("POST", SealApi.SealPath, null, ct);
            Show(cli, status);
            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Command CreateUnseal()
    {
        var endpoint = Endpoint();
        var reset = new Option<bool>("--reset") { Description = "Discard the shares submitted so far instead of submitting one" };
        var command = new Command("unseal",
            "Submit one unseal share (or, for a passphrase root, the passphrase) to a running server: typed at a prompt, or one line " +
            "of standard input. Prints the progress (K of N); the server unseals when K valid shares are in. No credential needed.")
            { endpoint, reset };
        command.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            using var admin = new AdminClient(r.GetValue(endpoint)!);
            UnsealBody body;
            if (r.GetValue(reset)) body = new UnsealBody(Reset: true);
            else
            {
                var status = await admin.SendUnsignedAsync<SealStatusBody>("GET", SealApi.StatusPath, null, ct);
                if (!status.Sealed)
                {
                    Show(cli, status);
                    return ExitCodes.Ok;
                }
                body = status.Root switch
                {
                    "passphrase" => new UnsealBody(Passphrase: CliContext.ReadSecretLine("Passphrase:", "passphrase")),
                    "pkcs11" => new UnsealBody(Pin: CliContext.HsmPin() ?? CliContext.ReadSecretLine("HSM PIN:", "HSM PIN")),
                    _ => new UnsealBody(Share: CliContext.ReadSecretLine($"Unseal share ({status.Progress} of {status.Threshold} in):", "unseal share")),
                };
            }
            Show(cli, await admin.SendUnsignedAsync<SealStatusBody>("POST", SealApi.UnsealPath, body, ct));
            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Command CreateStatus()
    {
        var endpoint = Endpoint();
        var command = new Command("status", "Show whether a running server is sealed, and the unseal progress (K of N). Exit code 8 when sealed.") { endpoint };
        command.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            using var admin = new AdminClient(r.GetValue(endpoint)!);
            var status = await admin.SendUnsignedAsync<SealStatusBody>("GET", SealApi.StatusPath, null, ct);
            Show(cli, status);
            return status.Sealed ? ExitCodes.Sealed : ExitCodes.Ok;
        }));
        return command;
    }

    public static Command CreateRekey()
    {
        var shares = new Option<int>("--shares") { Description = "Number of new shares (2..255)", Required = true };
        var threshold = new Option<int>("--threshold") { Description = "How many of the new shares unseal (2..N)", Required = true };
        var command = new Command("rekey",
            "Reseal the root key under new Shamir shares (new N and K), after a quorum of the current shares (or the passphrase of a " +
            "passphrase root) opened it. No stored key changes; the old shares stop working. Audited.") { shares, threshold };
        command.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            var (n, k) = (r.GetValue(shares), r.GetValue(threshold));
            if (k < ShamirSecret.MinimumThreshold || k > n || n > ShamirSecret.MaximumShares)
                throw new CliException(ExitCodes.Usage, $"Shamir sharing needs 2 ≤ --threshold ≤ --shares ≤ 255 ({k} of {n} given).");
            using var deployment = cli.Open();
            var keys = deployment.Keys;
            // Recorded before the seal changes: no audit, no rekey.
            await keys.RecordRootEventAsync("Rekey", CliContext.Principal, ("shares", n), ("threshold", k));
            var issued = keys.RekeyShamir(n, k);
            if (cli.Json) cli.WriteJson(new { deploymentId = keys.DeploymentId, threshold = k, shares = issued });
            else PrintShares(cli.DataDirectory, keys.DeploymentId, issued, k);
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>The shares, once, with what to do with them.</summary>
    public static void PrintShares(string dataDirectory, string deploymentId, IReadOnlyList<string> shares, int threshold)
    {
        Console.WriteLine($"Root of {dataDirectory} (deployment {deploymentId}) sealed under {shares.Count} shares; any {threshold} unseal it.");
        Console.WriteLine("Give each share to a different officer now: they are shown once and stored nowhere.");
        for (var i = 0; i < shares.Count; i++) Console.WriteLine($"  share {i + 1}: {shares[i]}");
    }

    private static void Show(CliContext cli, SealStatusBody status)
    {
        if (cli.Json)
        {
            cli.WriteJson(status);
            return;
        }
        Console.WriteLine(status.Sealed
            ? $"sealed ({status.Root} root): {status.Progress} of {status.Threshold} shares in" + (status.Root == "shamir" ? $" (of {status.Shares} issued)" : "")
            : $"unsealed ({status.Root} root)");
    }
}
