using System.Text;

namespace Coffre.Objects.Catalog;

/// <summary>
/// S3's listing (prefix, delimiter, marker, max-keys) over an ordered range scan of one bucket's object names as
/// UTF-8 bytes — the one implementation every catalog uses, so that they cannot list differently.
/// </summary>
public static class ObjectListing
{
    /// <summary>Rows per scan: large enough that most pages are one scan, small enough that a rolled-up prefix
    /// holding many keys costs one short scan before the listing jumps past it.</summary>
    public const int ScanSize = 256;

    /// <summary>
    /// The objects whose UTF-8 name is above <paramref name="lower"/> (or equal to it when
    /// <paramref name="lowerInclusive"/>) and below <paramref name="upper"/>, in byte order, at most <paramref name="limit"/>.
    /// </summary>
    public delegate Task<IReadOnlyList<ObjectRecord>> RangeScan(byte[] lower, bool lowerInclusive, byte[] upper, int limit, CancellationToken ct);

    public static async Task<ListPage> ListAsync(RangeScan scan, string prefix, string? delimiter, string? startAfter, int maxKeys, CancellationToken ct)
    {
        var entries = new List<ListEntry>();
        if (maxKeys <= 0) return new ListPage(entries, false, null);
        var prefixBytes = Encoding.UTF8.GetBytes(prefix);
        var upper = Upper(prefixBytes);
        var lower = prefixBytes;
        var lowerInclusive = true;
        // Compared as UTF-8 bytes, the listing order (UTF-16 ordinal order differs above U+D7FF).
        if (startAfter is not null && Encoding.UTF8.GetBytes(startAfter).AsSpan().SequenceCompareTo(prefixBytes) >= 0)
        {
            lower = Encoding.UTF8.GetBytes(startAfter);
            lowerInclusive = false;
            // A marker inside a rolled-up prefix means that prefix was already returned: skip it whole.
            if (!string.IsNullOrEmpty(delimiter) && startAfter.StartsWith(prefix, StringComparison.Ordinal))
            {
                var i = startAfter.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal);
                if (i >= 0) lower = Upper(Encoding.UTF8.GetBytes(startAfter[..(i + delimiter.Length)]));
            }
        }

        string? last = null;
        while (true)
        {
            var rows = await scan(lower, lowerInclusive, upper, ScanSize, ct).ConfigureAwait(false);
            if (rows.Count == 0) return new ListPage(entries, false, null);
            var skipped = false;
            foreach (var record in rows)
            {
                if (entries.Count == maxKeys)
                    return new ListPage(entries, true, last);
                var cut = string.IsNullOrEmpty(delimiter) ? -1 : record.Name.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal);
                if (cut >= 0)
                {
                    // Every key under this common prefix rolls up into it: the next scan starts past them all.
                    var common = record.Name[..(cut + delimiter!.Length)];
                    entries.Add(new ListEntry(null, common));
                    last = common;
                    lower = Upper(Encoding.UTF8.GetBytes(common));
                    lowerInclusive = true;
                    skipped = true;
                    break;
                }
                entries.Add(new ListEntry(record, null));
                last = record.Name;
                lower = Encoding.UTF8.GetBytes(record.Name);
                lowerInclusive = false;
            }
            if (skipped) continue;
            if (entries.Count == maxKeys)
            {
                // Full page: truncated only if another key follows.
                var more = (await scan(lower, false, upper, 1, ct).ConfigureAwait(false)).Count > 0;
                return new ListPage(entries, more, more ? last : null);
            }
            if (rows.Count < ScanSize) return new ListPage(entries, false, null);
        }
    }

    /// <summary>The smallest byte string greater than every string that starts with <paramref name="prefix"/> (0xFF never occurs in UTF-8).</summary>
    public static byte[] Upper(byte[] prefix)
    {
        var upper = new byte[prefix.Length + 1];
        prefix.CopyTo(upper, 0);
        upper[^1] = 0xFF;
        return upper;
    }
}
