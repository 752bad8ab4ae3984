using System.Buffers.Binary;
using System.Formats.Tar;
using System.Security.Cryptography;
using Coffre.Crypto;
using Coffre.Kms;
using Coffre.Kms.Root;

namespace Coffre.Server.Hosting;

/// <summary>
/// The file `coffre backup` writes (docs/format.md §11): a 34-byte header (magic "CFRB", version, KDF id, Argon2id
/// memory/passes/lanes, salt), then a tar archive encrypted with the segmented AES-256-GCM stream of docs/format.md §2
/// under a key derived from the backup passphrase with Argon2id, the header as associated data. The stream's final-segment
/// flag makes a truncated file (a backup killed half-way) fail to decrypt instead of restoring part of a deployment.
/// </summary>
public static class BackupFile
{
    public const byte Version = 1;
    public const byte Argon2idKdf = 1;
    public const int SaltSize = 16;
    public const int HeaderSize = 4 + 1 + 1 + 12 + SaltSize;
    public static ReadOnlySpan<byte> Magic => "CFRB"u8;

    /// <summary>Writes the header and the encrypted archive of <paramref name="entries"/> (name, file path) to <paramref name="output"/>.</summary>
    public static async Task WriteAsync(Stream output, IReadOnlyList<(string Name, string Path)> entries, string passphrase, SealOptions kdf,
        CancellationToken ct = default)
    {
        var header = new byte[HeaderSize];
        Magic.CopyTo(header);
        header[4] = Version;
        header[5] = Argon2idKdf;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(6), (uint)kdf.Argon2MemoryKib);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(10), (uint)kdf.Argon2Passes);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(14), (uint)kdf.Argon2Parallelism);
        RandomNumberGenerator.Fill(header.AsSpan(18, SaltSize));
        var key = DeriveKey(passphrase, header, kdf, "the new backup");
        try
        {
            await output.WriteAsync(header, ct).ConfigureAwait(false);
            // The archive is written by a producer into a pipe the encrypting stream reads: bounded memory for any database size.
            var pipe = new System.IO.Pipelines.Pipe();
            var producer = Task.Run(async () =>
            {
                var writer = pipe.Writer.AsStream();
                try
                {
                    await using (var tar = new TarWriter(writer, TarEntryFormat.Pax, leaveOpen: true))
                        foreach (var (name, path) in entries)
                            await tar.WriteEntryAsync(path, name, ct).ConfigureAwait(false);
                    await pipe.Writer.CompleteAsync().ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    await pipe.Writer.CompleteAsync(e).ConfigureAwait(false);
                    throw;
                }
            }, ct);
            await using (var encrypting = new EncryptingStream(pipe.Reader.AsStream(), key, header))
                await encrypting.CopyToAsync(output, ct).ConfigureAwait(false);
            await producer.ConfigureAwait(false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Decrypts <paramref name="input"/> and extracts every entry into <paramref name="directory"/>. Throws
    /// <see cref="AuthenticationFailedException"/> for a wrong passphrase, a modified or a truncated file: then the caller
    /// must discard what was extracted.</summary>
    public static async Task<IReadOnlyList<string>> ExtractAsync(Stream input, string directory, string passphrase, SealOptions bounds, string what,
        CancellationToken ct = default)
    {
        var header = new byte[HeaderSize];
        await input.ReadExactlyAsync(header, ct).ConfigureAwait(false);
        if (!header.AsSpan(0, 4).SequenceEqual(Magic))
            throw new KmsException(KmsError.InvalidArgument, $"{what} is not a Coffre backup (bad magic).");
        if (header[4] != Version || header[5] != Argon2idKdf)
            throw new KmsException(KmsError.InvalidArgument, $"{what} is a backup of version {header[4]}, KDF {header[5]}, which this Coffre does not read.");
        var key = DeriveKey(passphrase, header, bounds, what);
        var names = new List<string>();
        try
        {
            await using var decrypting = new DecryptingStream(input, key, header, leaveOpen: true);
            // Extracted from a fully buffered-through stream: an entry is only trusted once the whole stream verified, which
            // the caller knows when this returns (a truncated or altered stream throws before then).
            await using var tar = new TarReader(decrypting, leaveOpen: true);
            while (await tar.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false) is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.Name.Contains("..", StringComparison.Ordinal)
                    || Path.IsPathRooted(entry.Name))
                    throw new KmsException(KmsError.InvalidArgument, $"{what} holds an unexpected entry '{entry.Name}'.");
                var target = Path.Combine(directory, entry.Name);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                await entry.ExtractToFileAsync(target, overwrite: false, ct).ConfigureAwait(false);
                names.Add(entry.Name);
            }
            // Read to the end: the final segment's tag is what proves nothing was cut off after the last entry.
            await decrypting.CopyToAsync(Stream.Null, ct).ConfigureAwait(false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
        return names;
    }

    private static byte[] DeriveKey(string passphrase, byte[] header, SealOptions bounds, string what)
    {
        var (memory, passes, lanes) = ((int)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(6)), (int)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(10)),
            (int)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(14)));
        bounds.CheckArgon2(memory, passes, lanes, what);
        var key = GC.AllocateArray<byte>(32, pinned: true);
        PassphraseKdf.Argon2idKey(passphrase, header.AsSpan(18, SaltSize).ToArray(), memory, passes, lanes, key);
        return key;
    }
}
