using Coffre.Objects.Catalog;

namespace Coffre.Objects.Placement;

/// <summary>
/// Where a walk over a bucket's object versions stands: the listing's markers for the next page, and
/// <paramref name="Done"/>, the last name whose versions are all behind it (what a run saves, to resume after it).
/// </summary>
public sealed record VersionCursor(string? KeyMarker, string? VersionIdMarker, string? Done)
{
    /// <summary>A walk that starts after every version of <paramref name="done"/> (null: from the first name).</summary>
    public static VersionCursor After(string? done) => new(done, null, done);
}

/// <summary>
/// Every object version of a bucket, current and noncurrent (delete markers have no blobs and are left out), a page at
/// a time in name order: what migration and repair walk, since a noncurrent version's blobs need their copies as
/// much as the current one's.
/// </summary>
public static class VersionWalk
{
    /// <summary>The next page of versions after <paramref name="cursor"/>, the cursor after it, and whether more follow.</summary>
    public static async Task<(IReadOnlyList<ObjectRecord> Records, VersionCursor Next, bool More)> NextAsync(IObjectCatalog catalog, string bucket,
        VersionCursor cursor, int pageSize, CancellationToken ct)
    {
        VersionPage page;
        try
        {
            page = await catalog.ListVersionsAsync(bucket, "", null, cursor.KeyMarker, cursor.VersionIdMarker, pageSize, ct).ConfigureAwait(false);
        }
        catch (ObjectStoreException e) when (e.Error == ObjectError.InvalidArgument && cursor.VersionIdMarker is not null)
        {
            // The version the page stopped at was deleted meanwhile: take its name again from its first version (each step is idempotent).
            page = await catalog.ListVersionsAsync(bucket, "", null, cursor.Done, null, pageSize, ct).ConfigureAwait(false);
        }
        var versions = page.Entries.Select(e => e.Version).OfType<VersionEntry>().ToList();
        var records = versions.Select(v => v.Record).OfType<ObjectRecord>().ToList();
        if (!page.IsTruncated || versions.Count == 0)
            return (records, new VersionCursor(null, null, versions.Count > 0 ? versions[^1].Name : cursor.Done), false);
        // The page's last name may have more versions on the next page: only the names before it are done.
        var last = versions[^1].Name;
        var done = versions.LastOrDefault(v => v.Name != last)?.Name ?? cursor.Done;
        return (records, new VersionCursor(page.NextKeyMarker, page.NextVersionIdMarker, done), true);
    }
}
