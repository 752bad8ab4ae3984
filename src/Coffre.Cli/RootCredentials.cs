using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Coffre.Kms;
using Coffre.Kms.Access;
using Coffre.Kms.Keys;

namespace Coffre.Cli;

/// <summary>
/// The first administrator's credentials (every grant: AccessGrants.All): from COFFRE_ROOT_ACCESS_KEY / COFFRE_ROOT_SECRET_KEY
/// when set (as MinIO's root user), else generated at first start, printed once, and kept in the
/// data directory sealed by the root of trust (never in clear on disk).
/// </summary>
public sealed record RootCredentials(string AccessKeyId, string SecretAccessKey, bool Generated, bool FromEnvironment)
{
    public const string FileName = "root-credentials.json";

    public static RootCredentials Resolve(string dataDirectory, KeyManager keys)
    {
        if (FromEnvironmentVariables() is { } fromEnvironment) return fromEnvironment;

        var path = Path.Combine(dataDirectory, FileName);
        if (File.Exists(path))
        {
            var stored = JsonSerializer.Deserialize<Stored>(File.ReadAllText(path))!;
            var seed = new byte[AccessKeySecrets.SeedBytes];
            keys.UnwrapWithRoot(Convert.FromBase64String(stored.WrappedSeed), Aad(stored.AccessKeyId), seed);
            return new RootCredentials(stored.AccessKeyId, AccessKeySecrets.Secret(seed), false, false);
        }

        var accessKeyId = AccessKeySecrets.NewAccessKeyId();
        var newSeed = RandomNumberGenerator.GetBytes(AccessKeySecrets.SeedBytes);
        var wrapped = keys.WrapWithRoot(newSeed, Aad(accessKeyId));
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(new Stored(accessKeyId, Convert.ToBase64String(wrapped))));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temp, path);
        var secret = AccessKeySecrets.Secret(newSeed);
        CryptographicOperations.ZeroMemory(newSeed);
        return new RootCredentials(accessKeyId, secret, true, false);
    }

    /// <summary>During a root migration, rewraps the stored seed (if any, and not rewrapped yet) under the new root: same
    /// credentials. The file is replaced atomically (write, fsync, rename).</summary>
    public static bool RewrapUnderNewRoot(string dataDirectory, KeyManager keys)
    {
        var path = Path.Combine(dataDirectory, FileName);
        if (!File.Exists(path)) return false;
        var stored = JsonSerializer.Deserialize<Stored>(File.ReadAllText(path))!;
        var wrapped = Convert.FromBase64String(stored.WrappedSeed);
        if (!keys.NeedsRewrap(wrapped, Aad(stored.AccessKeyId))) return false;
        var seed = new byte[AccessKeySecrets.SeedBytes];
        try
        {
            keys.UnwrapWithRoot(wrapped, Aad(stored.AccessKeyId), seed);
            var temp = path + ".tmp";
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var file = new FileStream(temp, options))
            {
                JsonSerializer.Serialize(file, stored with { WrappedSeed = Convert.ToBase64String(keys.WrapWithRoot(seed, Aad(stored.AccessKeyId))) });
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    /// <summary>The credentials of COFFRE_ROOT_ACCESS_KEY / COFFRE_ROOT_SECRET_KEY, or null when neither is set (they need no root).</summary>
    public static RootCredentials? FromEnvironmentVariables()
    {
        var envAccess = Environment.GetEnvironmentVariable(Commands.ServeCommand.RootAccessKeyVariable);
        var envSecret = Environment.GetEnvironmentVariable(Commands.ServeCommand.RootSecretKeyVariable);
        if (string.IsNullOrEmpty(envAccess) && string.IsNullOrEmpty(envSecret)) return null;
        if (string.IsNullOrEmpty(envAccess) || string.IsNullOrEmpty(envSecret) || envSecret.Length < 8)
            throw new CliException(ExitCodes.Usage,
                $"Set both {Commands.ServeCommand.RootAccessKeyVariable} and {Commands.ServeCommand.RootSecretKeyVariable} (secret of at least 8 characters), or neither.");
        return new RootCredentials(envAccess, envSecret, false, true);
    }

    private static byte[] Aad(string accessKeyId) => Encoding.UTF8.GetBytes("coffre/v1/root-credentials/" + accessKeyId);

    private sealed record Stored(string AccessKeyId, string WrappedSeed);
}
