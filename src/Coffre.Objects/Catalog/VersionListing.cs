using System.Text;

namespace Coffre.Objects.Catalog;

/// <summary>
/// S3's ListObjectVersions (prefix, delimiter, key and version-id markers, max-keys) over an ordered range scan of
/// one bucket's versions by (name as UTF-8 bytes, position), where a name's newer versions have smaller positions —
/// the one implementation every catalog uses, as <see cref="ObjectListing"/> is for current objects.
/// </summary>
public static class VersionListing
{
    /// <summary>
    /// Versions after (<paramref name="lower"/>, <paramref name="afterPosition"/>) when a position is given, else with
    /// a name above <paramref name="lower"/> (or equal when <paramref name="lowerInclusive"/>); names below
    /// <paramref name="upper"/>; in (name, position) order, at most <paramref name="limit"/>.
    /// </summary>
    public delegate Task<IReadOnlyList<(VersionEntry Entry, long Position)>> RangeScan(byte[] lower, long? afterPosition, bool lowerInclusive, byte[] upper, int limit, CancellationToken ct);

    /// <param name="markerPosition">The position of the version-id marker's version within the key marker (null: no version-id marker).</param>
    public static async Task<VersionPage> ListAsync(RangeScan scan, string prefix, string? delimiter, string? keyMarker, long? markerPosition, int maxKeys, CancellationToken ct)
    {
        var entries = new List<VersionListEntry>();
        if (maxKeys <= 0) return new VersionPage(entries, false, null, null);
        var prefixBytes = Encoding.UTF8.GetBytes(prefix);
        var upper = ObjectListing.Upper(prefixBytes);
        var lower = prefixBytes;
        var lowerInclusive = true;
        long? position = null;
        if (keyMarker is not null && Encoding.UTF8.GetBytes(keyMarker).AsSpan().SequenceCompareTo(prefixBytes) >= 0)
        {
            lower = Encoding.UTF8.GetBytes(keyMarker);
            lowerInclusive = false;
            position = markerPosition;
            // A marker inside a rolled-up prefix means that prefix was already returned: skip it whole.
            if (!string.IsNullOrEmpty(delimiter) && keyMarker.StartsWith(prefix, StringComparison.Ordinal))
            {
                var i = keyMarker.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal);
                if (i >= 0)
                {
                    lower = ObjectListing.Upper(Encoding.UTF8.GetBytes(keyMarker[..(i + delimiter.Length)]));
                    position = null;
                }
            }
        }

        string? lastKey = null, lastVersion = null;
        while (true)
        {
            var rows = await scan(lower, position, lowerInclusive, upper, ObjectListing.ScanSize, ct).ConfigureAwait(false);
            if (rows.Count == 0) return new VersionPage(entries, false, null, null);
            var skipped = false;
            foreach (var (entry, at) in rows)
            {
                if (entries.Count == maxKeys)
                    return new VersionPage(entries, true, lastKey, lastVersion);
                var cut = string.IsNullOrEmpty(delimiter) ? -1 : entry.Name.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal);
                if (cut >= 0)
                {
                    // Every version under this common prefix rolls up into it: the next scan starts past them all.
                    var common = entry.Name[..(cut + delimiter!.Length)];
                    entries.Add(new VersionListEntry(null, common));
                    (lastKey, lastVersion) = (common, null);
                    lower = ObjectListing.Upper(Encoding.UTF8.GetBytes(common));
                    (position, lowerInclusive, skipped) = (null, true, true);
                    break;
                }
                entries.Add(new VersionListEntry(entry, null));
                (lastKey, lastVersion) = (entry.Name, entry.VersionId);
                lower = Encoding.UTF8.GetBytes(entry.Name);
                position = at;
            }
            if (skipped) continue;
            if (entries.Count == maxKeys)
            {
                // Full page: truncated only if another version follows.
                var more = (await scan(lower, position, lowerInclusive, upper, 1, ct).ConfigureAwait(false)).Count > 0;
                return more ? new VersionPage(entries, true, lastKey, lastVersion) : new VersionPage(entries, false, null, null);
            }
            if (rows.Count < ObjectListing.ScanSize) return new VersionPage(entries, false, null, null);
        }
    }
}
