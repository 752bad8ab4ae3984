using System.Text.Json;
using System.Text.Json.Serialization;
using Coffre.Crypto;
using Coffre.Kms;
using Coffre.Kms.Keys;
using Coffre.Kms.Root;
using Coffre.Server.Hosting;
using Spectre.Console;

namespace Coffre.Cli;

/// <summary>What every command shares: where the data lives, how to get the passphrase, how to print, how failures become exit codes.</summary>
public sealed class CliContext(string? dataOption, bool json)
{
    public const string DataEnvironmentVariable = "COFFRE_DATA";
    public const string PassphraseEnvironmentVariable = "COFFRE_PASSPHRASE";
    public const string DefaultDataDirectory = "coffre-data";

    public bool Json { get; } = json;

    /// <summary>--data, else $COFFRE_DATA, else ./coffre-data.</summary>
    public string DataDirectory { get; } = Path.GetFullPath(
        dataOption ?? (Environment.GetEnvironmentVariable(DataEnvironmentVariable) is { Length: > 0 } env ? env : DefaultDataDirectory));

    /// <summary>Who the audit trail names for CLI operations.</summary>
    public static string Principal => "cli:" + Environment.UserName;

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public bool IsInitialized => Deployment.IsInitialized(DataDirectory);

    /// <summary>Where this command's deployment lives: the data directory, and the database if one is configured.</summary>
    public DeploymentLocation Location
    {
        get
        {
            try
            {
                return DeploymentLocation.Of(CoffreConfiguration.Load(DataDirectory), DataDirectory);
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or ArgumentException)
            {
                throw new CliException(ExitCodes.Failure, "invalid configuration (Coffre:Database): " + e.Message);
            }
        }
    }

    /// <summary>Opens the deployment (root of trust, key database, key manager) through the one composition root.</summary>
    public Deployment Open()
    {
        if (!IsInitialized)
            throw new CliException(ExitCodes.NotFound, $"No Coffre data directory at {DataDirectory}: run `coffre init` first (or set --data / {DataEnvironmentVariable}).");
        foreach (var repaired in PrivateFiles.Enforce(DataDirectory)) Console.Error.WriteLine("coffre: " + repaired);
        return Deployment.Open(Location, OpenRoot(Path.Combine(DataDirectory, Deployment.SealFileName), () => ReadPassphrase(confirm: false)));
    }

    /// <summary>Opens the root the seal at <paramref name="sealPath"/> describes: with <paramref name="passphrase"/>, the HSM PIN
    /// ($COFFRE_HSM_PIN, $COFFRE_HSM_PIN_FILE or a prompt), or a quorum of Shamir shares (prompts or standard input).</summary>
    public static IRootOfTrust OpenRoot(string sealPath, Func<string> passphrase) =>
        RootSealFile.Read(sealPath, SealOptions.Default).Kind switch
        {
            RootKind.Passphrase => SealedFileRoot.Unseal(sealPath, passphrase(), SealOptions.Default),
            RootKind.Pkcs11 => OpenHsm(sealPath, HsmPin() ?? ReadSecretLine("HSM PIN:", "HSM PIN")),
            _ => ReadShares(sealPath),
        };

    public const string HsmPinEnvironmentVariable = "COFFRE_HSM_PIN";
    public const string HsmPinFileEnvironmentVariable = "COFFRE_HSM_PIN_FILE";

    /// <summary>The HSM user PIN from $COFFRE_HSM_PIN, else the first line of the file $COFFRE_HSM_PIN_FILE names, else null.</summary>
    public static string? HsmPin()
    {
        if (Environment.GetEnvironmentVariable(HsmPinEnvironmentVariable) is { Length: > 0 } pin) return pin;
        if (Environment.GetEnvironmentVariable(HsmPinFileEnvironmentVariable) is { Length: > 0 } file)
            return File.ReadLines(file).FirstOrDefault()?.Trim() is { Length: > 0 } line ? line
                : throw new CliException(ExitCodes.Usage, $"{file} (${HsmPinFileEnvironmentVariable}) holds no PIN.");
        return null;
    }

    /// <summary>Opens the HSM root named by root.seal with <paramref name="pin"/> (same checks and limits as the unseal API).</summary>
    public static IRootOfTrust OpenHsm(string sealPath, string pin)
    {
        using var unsealer = new RootUnsealer(sealPath, SealOptions.Default, TimeProvider.System);
        return unsealer.Submit(pin, out _)!;
    }

    /// <summary>Opens a Shamir root offline: its threshold of shares, one per prompt or per line of standard input.</summary>
    private static IRootOfTrust ReadShares(string sealPath)
    {
        using var unsealer = new RootUnsealer(sealPath, SealOptions.Default, TimeProvider.System);
        var progress = unsealer.Progress();
        while (true)
        {
            var share = ReadSecretLine($"Unseal share {progress.Submitted + 1} of {progress.Needed}:", "an unseal share");
            if (unsealer.Submit(share, out progress) is { } root) return root;
        }
    }

    /// <summary>One secret: an interactive prompt (not echoed), else one line of standard input.</summary>
    public static string ReadSecretLine(string prompt, string what)
    {
        if (!Console.IsInputRedirected) return AnsiConsole.Prompt(new TextPrompt<string>(prompt).Secret());
        var line = Console.In.ReadLine();
        if (string.IsNullOrWhiteSpace(line))
            throw new CliException(ExitCodes.Usage, $"No {what}: type it at the prompt, or give it as one line of standard input.");
        return line;
    }

    /// <summary>The configuration `coffre serve` would use on this data directory, every problem in it listed at once.</summary>
    public CoffreServerOptions LoadConfiguration()
    {
        try
        {
            var options = CoffreConfiguration.Load(DataDirectory);
            ConfigurationCheck.ThrowIfInvalid(options);
            return options;
        }
        catch (InvalidOperationException e)
        {
            throw new CliException(ExitCodes.Failure, "invalid configuration: " + e.Message);
        }
    }

    /// <summary>Shortest passphrase accepted when sealing a new root key, from any source.</summary>
    public const int MinimumPassphraseLength = 12;

    /// <summary>
    /// $COFFRE_PASSPHRASE, else an interactive prompt (twice when creating), else one line of standard input.
    /// With <paramref name="confirm"/> (a new seal) the passphrase must be at least <see cref="MinimumPassphraseLength"/>
    /// characters, whatever its source.
    /// </summary>
    public static string ReadPassphrase(bool confirm, string variable = PassphraseEnvironmentVariable)
    {
        string passphrase;
        if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } fromEnv)
            passphrase = fromEnv;
        else if (Console.IsInputRedirected)
        {
            var line = Console.In.ReadLine();
            if (string.IsNullOrEmpty(line))
                throw new CliException(ExitCodes.Usage, $"No passphrase: set {variable}, type it at the prompt, or give it as one line of standard input.");
            passphrase = line;
        }
        else
        {
            passphrase = AnsiConsole.Prompt(new TextPrompt<string>(variable == PassphraseEnvironmentVariable ? "Passphrase:" : $"Passphrase (or ${variable}):").Secret());
            if (confirm)
            {
                CheckNewPassphrase(passphrase);
                var second = AnsiConsole.Prompt(new TextPrompt<string>("Repeat the passphrase:").Secret());
                if (second != passphrase) throw new CliException(ExitCodes.Usage, "The two passphrases differ.");
            }
        }
        if (confirm) CheckNewPassphrase(passphrase);
        return passphrase;
    }

    private static void CheckNewPassphrase(string passphrase)
    {
        if (passphrase.Length < MinimumPassphraseLength)
            throw new CliException(ExitCodes.Usage, $"The passphrase must be at least {MinimumPassphraseLength} characters long.");
    }

    public void WriteJson<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, JsonOptions));

    /// <summary>Runs a command body and turns every known failure into a message on stderr and its exit code.</summary>
    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (CliException e)
        {
            return Fail(e.ExitCode, e.Message);
        }
        catch (KmsException e)
        {
            return Fail(ExitCodeFor(e.Error), e.Message);
        }
        catch (AuthenticationFailedException e)
        {
            return Fail(ExitCodes.AuthenticationFailed, e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(ExitCodes.Failure, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Never a stack trace (System.CommandLine's default, with exit code 1 = "usage"): one line, exit 10.
            return Fail(ExitCodes.Failure, $"unexpected error ({e.GetType().Name}): {e.Message}");
        }
    }

    public static int ExitCodeFor(KmsError error) => error switch
    {
        KmsError.WrongPassphrase or KmsError.InvalidCiphertext => ExitCodes.AuthenticationFailed,
        KmsError.NotFound or KmsError.NotInitialized => ExitCodes.NotFound,
        KmsError.Disabled or KmsError.PendingDestruction or KmsError.Destroyed or KmsError.VersionNotUsable => ExitCodes.KeyUnavailable,
        KmsError.AlreadyExists or KmsError.AlreadyInitialized or KmsError.Conflict or KmsError.DestructionRefused => ExitCodes.Conflict,
        KmsError.AuditUnavailable => ExitCodes.AuditFailure,
        KmsError.InvalidName or KmsError.InvalidArgument => ExitCodes.Usage,
        KmsError.AccessDenied => ExitCodes.AccessDenied,
        KmsError.InvalidShare => ExitCodes.AuthenticationFailed,
        KmsError.Sealed => ExitCodes.Sealed,
        _ => ExitCodes.Failure,
    };

    private static int Fail(int code, string message)
    {
        Console.Error.WriteLine("coffre: " + message);
        return code;
    }
}

/// <summary>A failure the CLI reports as is, with its exit code.</summary>
public sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
