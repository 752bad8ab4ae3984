using System.CommandLine;
using Coffre.Kms;
using Coffre.Kms.Keys;
using Coffre.Kms.Root;
using Microsoft.Extensions.DependencyInjection;
using Coffre.Server.Auth;
using Coffre.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;

namespace Coffre.Cli.Commands;

/// <summary>`coffre serve`: the S3-compatible encrypting gateway (and key API) on one listener.</summary>
public static class ServeCommand
{
    public const string RootAccessKeyVariable = "COFFRE_ROOT_ACCESS_KEY";
    public const string RootSecretKeyVariable = "COFFRE_ROOT_SECRET_KEY";

    public static Command Create()
    {
        var listen = new Option<string?>("--listen") { Description = "HOST:PORT to listen on (default 127.0.0.1:9000, or Coffre:Listen)" };
        var command = new Command("serve",
            "Run the S3-compatible encrypting gateway. Initialises the data directory first if it is empty. Configuration: " +
            "appsettings.json (current directory, then the data directory), COFFRE__SECTION__KEY environment variables.") { listen };
        command.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            // The whole configuration is checked before the data directory is created or opened.
            var builder = CoffreServer.CreateBuilder(Directory.GetCurrentDirectory());
            CoffreConfiguration.AddSources(builder.Configuration, cli.DataDirectory);
            CoffreServerOptions options;
            try
            {
                options = CoffreConfiguration.Bind(builder.Configuration);
                if (r.GetValue(listen) is { } l) options.Listen = l;
                ConfigurationCheck.ThrowIfInvalid(options);
            }
            catch (InvalidOperationException e)
            {
                throw new CliException(ExitCodes.Failure, "invalid configuration: " + e.Message);
            }

            // A root that needs officers' shares starts sealed: they unseal it through the admin API (coffre unseal).
            using var deployment = !cli.IsInitialized ? await InitializeAsync(cli)
                : StartsSealed(cli) ? await Deployment.OpenSealedAsync(cli.Location) : cli.Open();
            var keys = deployment.Keys;
            RootCredentials? root = null;
            if (!keys.IsSealed)
            {
                EnsureDefaultKey(keys, options.DefaultKey);
                root = RootCredentials.Resolve(cli.DataDirectory, keys);
                options.AccessKeys.Insert(0, AccessKeyOptions.WithAllGrants(root.AccessKeyId, root.SecretAccessKey));
            }
            else if (RootCredentials.FromEnvironmentVariables() is { } fromEnvironment)
            {
                root = fromEnvironment;
                options.AccessKeys.Insert(0, AccessKeyOptions.WithAllGrants(root.AccessKeyId, root.SecretAccessKey));
            }

            WebApplication built;
            try
            {
                built = CoffreServer.Build(options, deployment, builder);
            }
            catch (InvalidOperationException e)
            {
                // Listen address, TLS, backend: configuration mistakes, reported as one line.
                throw new CliException(ExitCodes.Failure, "cannot start the gateway: " + e.Message);
            }
            await using var app = built;
            if (keys.IsSealed)
            {
                // Work that needs the root, done by the unseal: the default key, and root credentials sealed in the data directory.
                var directory = app.Services.GetRequiredService<AccessKeyDirectory>();
                keys.Unsealed += () =>
                {
                    try
                    {
                        EnsureDefaultKey(keys, options.DefaultKey);
                        if (root is not null) return;
                        var sealedRoot = RootCredentials.Resolve(cli.DataDirectory, keys);
                        directory.AddConfigured(AccessKeyOptions.WithAllGrants(sealedRoot.AccessKeyId, sealedRoot.SecretAccessKey));
                        Console.WriteLine($"Unsealed. Access key: {sealedRoot.AccessKeyId}");
                        if (sealedRoot.Generated) ShowGeneratedSecret(sealedRoot, cli.DataDirectory);
                    }
                    catch (KmsException e)
                    {
                        // The unseal itself succeeded; the next unseal (after a seal) retries this.
                        Console.Error.WriteLine($"coffre: unsealed, but the first-start setup failed: {e.Message}");
                    }
                };
            }
            await app.StartAsync(ct);
            var scheme = options.CertificatePath is null ? "http" : "https";
            Console.WriteLine($"Coffre gateway listening on {scheme}://{options.Listen}  (data: {cli.DataDirectory})");
            Console.WriteLine($"  S3 endpoint:   {scheme}://{options.Listen}   region {options.Region}, path-style addressing");
            if (keys.IsSealed)
                Console.WriteLine("  SEALED: every key use answers 503 until enough unseal shares are in (coffre unseal --endpoint URL)");
            if (root is null)
                Console.WriteLine("  Access key:    sealed in the data directory; available after the unseal");
            else
                Console.WriteLine($"  Access key:    {root.AccessKeyId}");
            if (root is { Generated: true })
                ShowGeneratedSecret(root, cli.DataDirectory);
            else if (root is { FromEnvironment: true })
                Console.WriteLine($"  Secret key:    from ${RootSecretKeyVariable}");
            else if (root is not null)
                Console.WriteLine("  Secret key:    the one printed at first start (sealed in the data directory)");
            Console.WriteLine($"  Health: {scheme}://{options.Listen}/healthz   Metrics: {scheme}://{options.Listen}/metrics");
            await app.WaitForShutdownAsync(ct);
            return ExitCodes.Ok;
        }));
        return command;
    }

    public const string GeneratedSecretFileName = "root-secret.txt";

    /// <summary>
    /// A terminal shows the generated secret once. Anything else (a service manager's journal, a log file, a CI
    /// log) would keep it for whoever reads logs, so it goes to a 0600 file in the data directory instead.
    /// </summary>
    private static void ShowGeneratedSecret(RootCredentials root, string dataDirectory)
    {
        if (!Console.IsOutputRedirected)
        {
            Console.WriteLine($"  Secret key:    {root.SecretAccessKey}   (generated now and shown once; sealed in the data directory)");
            return;
        }
        var path = Path.Combine(dataDirectory, GeneratedSecretFileName);
        var text = $"AWS_ACCESS_KEY_ID={root.AccessKeyId}\nAWS_SECRET_ACCESS_KEY={root.SecretAccessKey}\n";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new FileStream(path, options))
        {
            // An existing file keeps its mode: narrow it before the secret is in it.
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(file.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            file.Write(System.Text.Encoding.UTF8.GetBytes(text));
        }
        Console.WriteLine($"  Secret key:    generated now, written to {path} (mode 0600), not printed because standard output is not a terminal; " +
                          "store it, then delete that file");
    }

    /// <summary>A Shamir root always starts sealed; an HSM root when no PIN is given ($COFFRE_HSM_PIN, $COFFRE_HSM_PIN_FILE).</summary>
    private static bool StartsSealed(CliContext cli) =>
        RootSealFile.Read(Path.Combine(cli.DataDirectory, Deployment.SealFileName), SealOptions.Default).Kind switch
        {
            RootKind.Shamir => true,
            RootKind.Pkcs11 => CliContext.HsmPin() is null,
            _ => false,
        };

    private static async Task<Deployment> InitializeAsync(CliContext cli)
    {
        Console.WriteLine($"No data directory at {cli.DataDirectory}: initialising one. Choose the passphrase that seals the root key.");
        var passphrase = CliContext.ReadPassphrase(confirm: true);
        var deployment = await Deployment.InitializeAsync(cli.Location, passphrase);
        Console.WriteLine($"Initialised {cli.DataDirectory} (deployment {deployment.Keys.DeploymentId}).");
        return deployment;
    }

    private static void EnsureDefaultKey(KeyManager keys, string name)
    {
        try
        {
            keys.DescribeKey(name, KeyManager.SystemPrincipal);
        }
        catch (KmsException e) when (e.Error == KmsError.NotFound)
        {
            var info = keys.CreateKey(name, "Default key of buckets without their own", KeyManager.SystemPrincipal);
            Console.WriteLine($"Created the default key '{info.Name}' ({info.Id}).");
        }
    }
}
