using Coffre.Objects.Catalog;
using Coffre.Storage.Placement;

namespace Coffre.Objects.Placement;

/// <summary>
/// Repair driven by the catalog, a page of objects at a time: every blob of every object checked on the backends its
/// bucket's placement requires, and rewritten where missing or damaged (<see cref="BlobRepairer"/>). Used by
/// `coffre repair` (resumable, with progress) and by the maintenance service in the background.
/// </summary>
public sealed class CatalogRepair(IObjectCatalog catalog, PlacementBlobStore store)
{
    public const int PageSize = 200;

    private readonly BlobRepairer _repairer = new(store);

    /// <summary>Repairs the page of <paramref name="bucket"/> after <paramref name="after"/>, telling <paramref name="repaired"/>
    /// each object's outcomes (one per blob). Returns the last object done and whether more follow.</summary>
    public async Task<(string? Last, bool More)> RepairPageAsync(string bucket, string? after, Action<ObjectRecord, IReadOnlyList<RepairOutcome>> repaired,
        CancellationToken ct = default)
    {
        var copies = store.Placement.CopiesOf(bucket);
        var page = await catalog.ListObjectsAsync(bucket, "", null, after, PageSize, ct).ConfigureAwait(false);
        foreach (var record in page.Entries.Select(e => e.Record).OfType<ObjectRecord>())
        {
            var outcomes = new List<RepairOutcome>();
            foreach (var item in ObjectBlobs.Of(record)) outcomes.Add(await _repairer.RepairAsync(item, copies, ct).ConfigureAwait(false));
            repaired(record, outcomes);
            after = record.Name;
        }
        return (after, page.IsTruncated);
    }
}
