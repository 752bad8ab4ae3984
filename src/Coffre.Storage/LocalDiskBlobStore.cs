using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Coffre.Storage;

/// <summary>
/// The embedded default backend: blobs as files under one root directory.
/// Layout (see docs/storage.md): <c>root/blobs/&lt;fan&gt;/&lt;stem&gt;.m</c> is the metadata record (JSON: key,
/// generation, length, metadata) and <c>root/blobs/&lt;fan&gt;/&lt;stem&gt;.&lt;generation&gt;.d</c> is the body.
/// &lt;fan&gt; is the first byte of SHA-256(key) in hex; &lt;stem&gt; is the lower-case base32 of the UTF-8 key,
/// or "_" + hex SHA-256(key) when that would be longer than <see cref="MaxEncodedStemLength"/>.
/// Every write goes to a ".tmp-*" file in the same directory, is fsync'ed, renamed, and the directory fsync'ed.
/// Renaming the metadata record is the commit point of a put, and deleting it that of a delete.
/// One process owns a root at a time.
/// </summary>
public sealed class LocalDiskBlobStore : IBlobStore
{
    public const int MaxEncodedStemLength = 200;
    private const string TempPrefix = ".tmp-";
    private const string MetaSuffix = ".m";
    private const string DataSuffix = ".d";
    private const int CopyBufferSize = 128 * 1024;
    private const int MaxReadRetries = 8;

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = false };

    private readonly string _blobsRoot;
    private readonly SemaphoreSlim[] _stripes = Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
    private readonly ConcurrentDictionary<string, byte> _inFlight = new(StringComparer.Ordinal);

    public LocalDiskBlobStore(string rootDirectory, string name = "local")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rootDirectory);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        RootDirectory = Path.GetFullPath(rootDirectory);
        Name = name;
        _blobsRoot = Path.Combine(RootDirectory, "blobs");
        Directory.CreateDirectory(_blobsRoot);
    }

    public string Name { get; }
    public string RootDirectory { get; }

    public string Describe() => $"local disk '{Name}' at {RootDirectory}";

    // ---------------------------------------------------------------- key → path

    private readonly record struct BlobLocation(string Directory, string Stem, int Stripe)
    {
        public string MetaPath => Path.Combine(Directory, Stem + MetaSuffix);
        public string DataPath(string generation) => Path.Combine(Directory, $"{Stem}.{generation}{DataSuffix}");
    }

    private BlobLocation Locate(string key)
    {
        var utf8 = BlobKeys.ToUtf8(key);
        var hash = SHA256.HashData(utf8);
        var fan = Convert.ToHexStringLower(hash, 0, 1);
        var encoded = Base32Lower.Encode(utf8);
        var stem = encoded.Length <= MaxEncodedStemLength ? encoded : "_" + Convert.ToHexStringLower(hash);
        var dir = Path.Combine(_blobsRoot, fan);
        // Belt and braces: the stem alphabet cannot express a path separator or "..", but check anyway.
        var full = Path.GetFullPath(Path.Combine(dir, stem + MetaSuffix));
        if (!full.StartsWith(_blobsRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new InvalidOperationException("Internal error: blob path escaped the store root.");
        return new BlobLocation(dir, stem, hash[1] % _stripes.Length);
    }

    // ---------------------------------------------------------------- metadata record

    private sealed class MetaRecord
    {
        [JsonPropertyName("format")] public int Format { get; set; } = 1;
        [JsonPropertyName("key")] public string Key { get; set; } = "";
        [JsonPropertyName("generation")] public string Generation { get; set; } = "";
        [JsonPropertyName("length")] public long Length { get; set; }
        [JsonPropertyName("metadata")] public Dictionary<string, string> Metadata { get; set; } = new();
    }

    private MetaRecord? ReadMeta(string metaPath, string? expectedKey)
    {
        // Every PUT of a new blob asks for a record that does not exist: answer that without an exception
        // (7-10 µs each, against under 1 µs). One can still be thrown if the record goes in between.
        if (!File.Exists(metaPath)) return null;
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(metaPath);
        }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
        MetaRecord? record;
        try
        {
            record = JsonSerializer.Deserialize<MetaRecord>(bytes, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new BlobStoreException(BlobStoreError.Corrupt, Name, expectedKey, $"Unreadable metadata record {metaPath}", e);
        }
        if (record is null || record.Format != 1 || record.Generation.Length == 0 || record.Generation.Any(c => !char.IsAsciiHexDigitLower(c)))
            throw new BlobStoreException(BlobStoreError.Corrupt, Name, expectedKey, $"Invalid metadata record {metaPath}");
        if (expectedKey is not null && !string.Equals(record.Key, expectedKey, StringComparison.Ordinal))
            throw new BlobStoreException(BlobStoreError.Corrupt, Name, expectedKey,
                $"Metadata record {metaPath} belongs to another key (hash collision or tampering).");
        return record;
    }

    private async Task WriteMetaAtomicAsync(BlobLocation loc, MetaRecord record, CancellationToken ct)
    {
        var temp = Path.Combine(loc.Directory, TempPrefix + NewId() + MetaSuffix);
        _inFlight[temp] = 0;
        try
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(record, JsonOptions);
            await using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
            {
                await fs.WriteAsync(bytes, ct).ConfigureAwait(false);
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, loc.MetaPath, overwrite: true);
            DirectorySync.Fsync(loc.Directory);
        }
        finally
        {
            TryDelete(temp);
            _inFlight.TryRemove(temp, out _);
        }
    }

    // ---------------------------------------------------------------- IBlobStore

    public async Task PutAsync(string key, Stream content, long? length, IReadOnlyDictionary<string, string> metadata,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        BlobKeys.ValidateMetadata(metadata);
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length));
        var loc = Locate(key);
        EnsureDirectory(loc.Directory);

        var generation = NewId();
        var temp = Path.Combine(loc.Directory, TempPrefix + generation + DataSuffix);
        var dataPath = loc.DataPath(generation);
        _inFlight[temp] = 0;
        _inFlight[dataPath] = 0;
        var committed = false;
        try
        {
            long written = 0;
            var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
            try
            {
                await using var fs = new FileStream(temp, new FileStreamOptions
                {
                    Mode = FileMode.CreateNew,
                    Access = FileAccess.Write,
                    Share = FileShare.None,
                    BufferSize = 0,
                    Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
                    PreallocationSize = length ?? 0,
                });
                int n;
                while ((n = await content.ReadAsync(buffer.AsMemory(0, CopyBufferSize), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    written += n;
                    if (written > length)
                        throw new BlobStoreException(BlobStoreError.LengthMismatch, Name, key,
                            $"Stream yielded more than the announced {length} bytes.");
                    await fs.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                }
                if (length is { } expected && written != expected)
                    throw new BlobStoreException(BlobStoreError.LengthMismatch, Name, key,
                        $"Stream yielded {written} bytes, {expected} were announced.");
                fs.Flush(flushToDisk: true);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            File.Move(temp, dataPath, overwrite: false);

            MetaRecord? previous;
            await _stripes[loc.Stripe].WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                previous = ReadMetaLenient(loc.MetaPath);
                await WriteMetaAtomicAsync(loc, new MetaRecord
                {
                    Key = key,
                    Generation = generation,
                    Length = written,
                    Metadata = new Dictionary<string, string>(metadata, StringComparer.Ordinal),
                }, CancellationToken.None).ConfigureAwait(false);
                committed = true;
            }
            finally
            {
                _stripes[loc.Stripe].Release();
            }
            if (previous is not null && previous.Generation != generation)
                TryDelete(loc.DataPath(previous.Generation));
        }
        finally
        {
            TryDelete(temp);
            if (!committed) TryDelete(dataPath);
            _inFlight.TryRemove(temp, out _);
            _inFlight.TryRemove(dataPath, out _);
        }
    }

    public Task<BlobReadResult> GetAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length));
        var loc = Locate(key);
        for (var attempt = 0; attempt < MaxReadRetries; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var meta = ReadMeta(loc.MetaPath, key) ?? throw new BlobNotFoundException(Name, key);
            FileStream fs;
            try
            {
                fs = new FileStream(loc.DataPath(meta.Generation), FileMode.Open, FileAccess.Read,
                    FileShare.Read | FileShare.Delete, 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
            }
            catch (FileNotFoundException)
            {
                continue; // replaced or deleted between reading the record and opening the body: read the record again
            }
            try
            {
                if (fs.Length != meta.Length)
                    throw new BlobStoreException(BlobStoreError.Corrupt, Name, key,
                        $"Body file is {fs.Length} bytes, its metadata record says {meta.Length}.");
                if (offset > meta.Length)
                    throw new ArgumentOutOfRangeException(nameof(offset), $"Offset {offset} is past the end of the blob ({meta.Length} bytes).");
                var count = Math.Min(length ?? long.MaxValue, meta.Length - offset);
                fs.Seek(offset, SeekOrigin.Begin);
                return Task.FromResult(new BlobReadResult(key, new LengthLimitedStream(fs, count), offset, count, meta.Length,
                    meta.Metadata.AsReadOnly()));
            }
            catch
            {
                fs.Dispose();
                throw;
            }
        }
        throw new BlobStoreException(BlobStoreError.Corrupt, Name, key, "Body file kept disappearing under its metadata record.");
    }

    public Task<BlobInfo?> HeadAsync(string key, CancellationToken cancellationToken = default)
    {
        var loc = Locate(key);
        var meta = ReadMeta(loc.MetaPath, key);
        return Task.FromResult(meta is null ? null : new BlobInfo(key, meta.Length, meta.Metadata.AsReadOnly()));
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var loc = Locate(key);
        MetaRecord? meta;
        await _stripes[loc.Stripe].WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            meta = ReadMetaLenient(loc.MetaPath);
            if (meta is null) return;
            File.Delete(loc.MetaPath);
            DirectorySync.Fsync(loc.Directory);
        }
        finally
        {
            _stripes[loc.Stripe].Release();
        }
        TryDelete(loc.DataPath(meta.Generation));
    }

    public async IAsyncEnumerable<BlobListEntry> ListAsync(string prefix = "", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        await Task.Yield();
        foreach (var dir in SafeEnumerate(() => Directory.EnumerateDirectories(_blobsRoot)))
        {
            foreach (var file in SafeEnumerate(() => Directory.EnumerateFiles(dir, "*" + MetaSuffix)))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var name = Path.GetFileName(file);
                if (name.StartsWith(TempPrefix, StringComparison.Ordinal)) continue;
                var stem = name[..^MetaSuffix.Length];
                if (prefix.Length > 0 && !stem.StartsWith('_') && Base32Lower.TryDecode(stem, out var keyBytes))
                {
                    string decoded;
                    try { decoded = BlobKeys.FromUtf8(keyBytes); }
                    catch (ArgumentException) { continue; }
                    if (!decoded.StartsWith(prefix, StringComparison.Ordinal)) continue;
                }
                MetaRecord? meta;
                try
                {
                    meta = ReadMeta(file, null);
                }
                catch (BlobStoreException)
                {
                    continue; // a corrupt record is reported by Get/Head on that key, not by listing
                }
                if (meta is null || !meta.Key.StartsWith(prefix, StringComparison.Ordinal)) continue;
                yield return new BlobListEntry(meta.Key, meta.Length);
            }
        }
    }

    // ---------------------------------------------------------------- crash recovery

    /// <summary>
    /// Removes what a crash can leave behind: ".tmp-*" files and body files that no metadata record points to, last
    /// written more than <paramref name="minimumAge"/> ago. Files of writes in progress in this process are left alone
    /// whatever their age; the age spares those of another process (a write in flight keeps its file's time fresh).
    /// Safe to call at any time: the gateway calls it at start and in every maintenance run.
    /// </summary>
    public Task<BlobRecoveryReport> RecoverAsync(TimeSpan minimumAge, CancellationToken cancellationToken = default)
    {
        var cutoff = DateTime.UtcNow - minimumAge;
        int temps = 0, orphans = 0;
        foreach (var dir in SafeEnumerate(() => Directory.EnumerateDirectories(_blobsRoot)))
        {
            foreach (var file in SafeEnumerate(() => Directory.EnumerateFiles(dir)))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (_inFlight.ContainsKey(file) || File.GetLastWriteTimeUtc(file) > cutoff) continue;
                var name = Path.GetFileName(file);
                if (name.StartsWith(TempPrefix, StringComparison.Ordinal))
                {
                    if (TryDelete(file)) temps++;
                    continue;
                }
                if (!name.EndsWith(DataSuffix, StringComparison.Ordinal)) continue;
                var parts = name[..^DataSuffix.Length].Split('.');
                if (parts.Length != 2) continue;
                var stem = parts[0];
                var metaPath = Path.Combine(dir, stem + MetaSuffix);
                var stripe = -1;
                MetaRecord? meta;
                try
                {
                    meta = ReadMeta(metaPath, null);
                    if (meta is not null) stripe = Locate(meta.Key).Stripe;
                }
                catch (BlobStoreException)
                {
                    continue; // never delete a body whose record we cannot read
                }
                if (meta is not null && meta.Generation == parts[1]) continue;
                if (stripe >= 0) _stripes[stripe].Wait(cancellationToken);
                try
                {
                    if (_inFlight.ContainsKey(file)) continue;
                    var current = ReadMetaLenient(metaPath);
                    if (current is not null && current.Generation == parts[1]) continue;
                    if (TryDelete(file)) orphans++;
                }
                finally
                {
                    if (stripe >= 0) _stripes[stripe].Release();
                }
            }
        }
        return Task.FromResult(new BlobRecoveryReport(temps, orphans));
    }

    // ---------------------------------------------------------------- helpers

    private MetaRecord? ReadMetaLenient(string metaPath)
    {
        try { return ReadMeta(metaPath, null); }
        catch (BlobStoreException) { return null; }
    }

    private void EnsureDirectory(string dir)
    {
        if (Directory.Exists(dir)) return;
        Directory.CreateDirectory(dir);
        DirectorySync.Fsync(_blobsRoot);
    }

    private static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    private static bool TryDelete(string path)
    {
        try
        {
            if (!File.Exists(path)) return false;
            File.Delete(path);
            return true;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    private static IEnumerable<string> SafeEnumerate(Func<IEnumerable<string>> source)
    {
        try { return source().ToArray(); }
        catch (DirectoryNotFoundException) { return []; }
    }
}
