using System.CommandLine;
using Coffre.Crypto;
using Coffre.Kms;
using Coffre.Kms.Keys;
using Spectre.Console;

namespace Coffre.Cli.Commands;

/// <summary>`coffre encrypt` and `coffre decrypt`: files in the documented format (docs/format.md §4).</summary>
public static class FileCommands
{
    private static readonly Argument<FileInfo> Input = new("IN") { Description = "File to read" };
    private static readonly Argument<FileInfo> Output = new("OUT") { Description = "File to write (written to a temporary name, renamed only on success)" };
    private static readonly Option<bool> Force = new("--force") { Description = "Replace OUT if it exists" };

    private static IReadOnlyDictionary<string, string> FileContext { get; } =
        new Dictionary<string, string> { [FileEnvelope.PurposeContextKey] = FileEnvelope.PurposeContextValue };

    public static Command CreateEncrypt()
    {
        var keyOption = new Option<string>("--key") { Description = "Key name, id or alias to protect the file's data key", Required = true };
        var command = new Command("encrypt", "Encrypt a file under a fresh data key wrapped by a named key.") { keyOption, Input, Output, Force };
        command.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            var (input, output) = (r.GetValue(Input)!, r.GetValue(Output)!);
            CheckPaths(input, output, r.GetValue(Force));
            using var deployment = cli.Open();
            var keys = deployment.Keys;
            using var dataKey = keys.GenerateDataKey(r.GetValue(keyOption)!, FileContext, CliContext.Principal);
            var envelope = FileEnvelope.Encode(dataKey.Wrapped.KeyId, dataKey.Wrapped.KeyVersion, dataKey.Wrapped.Blob);
            var dek = dataKey.Plaintext.ToArray();
            try
            {
                await WriteAtomicallyAsync(cli, input, output, "Encrypting", async (source, target, token) =>
                {
                    await target.WriteAsync(envelope, token);
                    await using var encrypting = new EncryptingStream(source, dek, envelope, leaveOpen: true);
                    await encrypting.CopyToAsync(target, 1 << 20, token);
                }, ct);
            }
            finally
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(dek);
            }
            Report(cli, "encrypted", input, output, dataKey.Wrapped.KeyId, dataKey.Wrapped.KeyVersion);
            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Command CreateDecrypt()
    {
        var command = new Command("decrypt",
            "Decrypt a file written by `coffre encrypt`. Every segment is authenticated before it is written; " +
            "on any failure OUT is not created.") { Input, Output, Force };
        command.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            var (input, output) = (r.GetValue(Input)!, r.GetValue(Output)!);
            CheckPaths(input, output, r.GetValue(Force));
            using var deployment = cli.Open();
            var keys = deployment.Keys;
            FileEnvelope.Envelope? envelope = null;
            await WriteAtomicallyAsync(cli, input, output, "Decrypting", async (source, target, token) =>
            {
                envelope = await FileEnvelope.ReadAsync(source, token);
                var dek = Unwrap(keys, envelope);
                try
                {
                    await using var decrypting = new DecryptingStream(source, dek, envelope.Bytes, leaveOpen: true);
                    await decrypting.CopyToAsync(target, 1 << 20, token);
                }
                finally
                {
                    System.Security.Cryptography.CryptographicOperations.ZeroMemory(dek);
                }
            }, ct);
            Report(cli, "decrypted", input, output, envelope!.KeyId, envelope.KeyVersion);
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>
    /// Unwraps the file's data key. A key id or version that this data directory does not hold means
    /// the envelope was modified or the file comes from another deployment: an integrity failure
    /// (exit 2), not "not found" (exit 3), which is for the names an operator types.
    /// </summary>
    private static byte[] Unwrap(KeyManager keys, FileEnvelope.Envelope envelope)
    {
        try
        {
            return keys.UnwrapDataKey(new WrappedDataKey(envelope.KeyId, envelope.KeyVersion, envelope.WrappedKey), FileContext, CliContext.Principal);
        }
        catch (KmsException e) when (e.Error == KmsError.NotFound)
        {
            throw new CliException(ExitCodes.AuthenticationFailed,
                $"The file names key id '{envelope.KeyId}', which this data directory does not hold: the file was modified, " +
                "or it was encrypted by another Coffre deployment (use that deployment's data directory).");
        }
        catch (KmsException e) when (e.Error == KmsError.VersionNotUsable && !HasVersion(keys, envelope))
        {
            throw new CliException(ExitCodes.AuthenticationFailed,
                $"The file names version {envelope.KeyVersion} of key id '{envelope.KeyId}', which does not exist: the file was modified, " +
                "or it was encrypted by another Coffre deployment.");
        }
    }

    private static bool HasVersion(KeyManager keys, FileEnvelope.Envelope envelope)
    {
        try
        {
            return keys.DescribeKey(envelope.KeyId, CliContext.Principal).Versions.Any(v => v.Version == envelope.KeyVersion);
        }
        catch (KmsException)
        {
            return true; // keep the original error
        }
    }

    private static void CheckPaths(FileInfo input, FileInfo output, bool force)
    {
        if (!input.Exists) throw new CliException(ExitCodes.NotFound, $"{input.FullName} does not exist.");
        if (output.Exists && !force) throw new CliException(ExitCodes.Conflict, $"{output.FullName} exists; pass --force to replace it.");
        if (string.Equals(input.FullName, output.FullName, StringComparison.Ordinal))
            throw new CliException(ExitCodes.Usage, "IN and OUT must be different files.");
    }

    /// <summary>
    /// Streams IN through <paramref name="transform"/> into a temporary file beside OUT, flushes it to
    /// disk, then renames it over OUT. Any failure deletes the temporary file: OUT is whole or absent.
    /// </summary>
    /// <summary>A new file only its owner can read: decrypted output must not be readable by other users, whatever the umask.</summary>
    private static FileStreamOptions PrivateNewFile()
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 1 << 16, Options = FileOptions.Asynchronous,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        return options;
    }

    private static async Task WriteAtomicallyAsync(CliContext cli, FileInfo input, FileInfo output, string verb,
        Func<Stream, Stream, CancellationToken, Task> transform, CancellationToken ct)
    {
        var directory = output.DirectoryName ?? ".";
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{output.Name}.coffre-{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var source = new FileStream(input.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan))
            await using (var target = new FileStream(temp, PrivateNewFile()))
            {
                var showProgress = !cli.Json && !Console.IsOutputRedirected && source.Length > 8 << 20;
                if (showProgress)
                {
                    await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                            new TransferSpeedColumn(), new RemainingTimeColumn())
                        .StartAsync(async progress =>
                        {
                            var task = progress.AddTask($"{verb} {Markup.Escape(input.Name)}", maxValue: source.Length);
                            await using var tracked = new Coffre.Objects.Streams.ObservedReadStream(source, chunk => task.Increment(chunk.Length), leaveOpen: true);
                            await transform(tracked, target, ct);
                        });
                }
                else
                {
                    await transform(source, target, ct);
                }
                await target.FlushAsync(ct);
                target.Flush(flushToDisk: true);
            }
            File.Move(temp, output.FullName, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    private static void Report(CliContext cli, string what, FileInfo input, FileInfo output, string keyId, int version)
    {
        output.Refresh();
        if (cli.Json)
            cli.WriteJson(new { result = what, input = input.FullName, output = output.FullName, keyId, keyVersion = version, bytes = output.Length });
        else if (!Console.IsOutputRedirected)
            Console.WriteLine($"{input.Name} {what} to {output.FullName} (key {keyId} v{version}).");
    }
}
