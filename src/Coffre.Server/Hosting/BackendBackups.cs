using System.Globalization;
using System.Security.Cryptography;
using Coffre.Storage;

namespace Coffre.Server.Hosting;

/// <summary>One backup stored at a backend: its id (what `coffre restore --id` takes), blob key, size and creation time.</summary>
public sealed record BackendBackup(string Id, string Key, long Size, DateTimeOffset Created);

/// <summary>
/// Where `coffre backup --to-backend` puts its backups (docs/operations.md, "Backups"): one blob per backup,
/// <c>coffre-backups/&lt;UTC time, yyyyMMddTHHmmssfffZ&gt;-&lt;8 hex&gt;.cfrb</c>, the same bytes as a backup file (docs/format.md
/// §11). Names sort by time, so the newest is the last; the random suffix keeps two backups of one millisecond apart.
/// The provider learns when a backup was taken and its size, nothing of its content.
/// </summary>
public static class BackendBackups
{
    public const string Prefix = BlobKeys.BackupPrefix;
    private const string Suffix = ".cfrb";
    private const string TimeFormat = "yyyyMMdd'T'HHmmssfff'Z'";

    /// <summary>Says what the blob is to whoever lists the backend (nothing secret).</summary>
    public static IReadOnlyDictionary<string, string> Metadata { get; } = new Dictionary<string, string> { ["coffre-backup"] = "1" };

    public static string NewKey(DateTimeOffset created) =>
        Prefix + created.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)) + Suffix;

    /// <summary>The backup a key names, or null for a blob under the prefix that is not one (left alone).</summary>
    public static BackendBackup? Describe(string key, long size)
    {
        if (!key.StartsWith(Prefix, StringComparison.Ordinal) || !key.EndsWith(Suffix, StringComparison.Ordinal)) return null;
        var id = key[Prefix.Length..^Suffix.Length];
        var dash = id.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 && DateTime.TryParseExact(id[..dash], TimeFormat, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var created)
            ? new BackendBackup(id, key, size, new DateTimeOffset(created, TimeSpan.Zero)) : null;
    }

    /// <summary>Every backup on the store, oldest first.</summary>
    public static async Task<IReadOnlyList<BackendBackup>> ListAsync(IBlobStore store, CancellationToken ct)
    {
        var found = new List<BackendBackup>();
        await foreach (var entry in store.ListAsync(Prefix, ct).ConfigureAwait(false))
            if (Describe(entry.Key, entry.Length) is { } backup) found.Add(backup);
        return [.. found.OrderBy(b => b.Key, StringComparer.Ordinal)];
    }

    /// <summary>The backup <paramref name="id"/> names, or the newest when it is null; null when there is none.</summary>
    public static async Task<BackendBackup?> FindAsync(IBlobStore store, string? id, CancellationToken ct)
    {
        var all = await ListAsync(store, ct).ConfigureAwait(false);
        return id is null ? all.LastOrDefault() : all.FirstOrDefault(b => b.Id == id);
    }
}
