using Coffre.Objects.Catalog;
using Coffre.Storage.Placement;

namespace Coffre.Objects.Placement;

/// <summary>
/// Repair driven by the catalog, a page of object versions at a time (<see cref="VersionWalk"/>): every blob of every
/// version compared with the backends its bucket's placement requires, and rewritten where missing or damaged
/// (<see cref="BlobRepairer"/>, which verifies the copies of each blob it repairs). Used by `coffre repair` (resumable,
/// with progress) and by the maintenance service in the background.
/// </summary>
/// <remarks>
/// Which blobs need repair is decided from the record of copies (<see cref="IBlobCopyStore"/>): a blob recorded on every
/// backend its placement requires is not probed, so a pass over a healthy bucket costs one database query per page
/// instead of a read per copy of every blob. A blob the record knows nothing of (written before the record existed,
/// or whose batch of records was lost) is checked on every backend, which records it; an absent optional annex (a
/// sidecar, a manifest) whose object the record knows is taken as absent. A copy a provider lost or damaged behind
/// Coffre's back is still recorded as held: only <paramref name="verify"/> (`coffre repair --verify`), which reads every
/// copy of every blob, finds it.
/// </remarks>
public sealed class CatalogRepair(IObjectCatalog catalog, PlacementBlobStore store, TimeProvider time, bool verify = false)
{
    public const int PageSize = 200;

    private readonly BlobRepairer _repairer = new(store, time);

    /// <summary>Repairs the page of <paramref name="bucket"/>'s versions after <paramref name="cursor"/>, telling
    /// <paramref name="repaired"/> each version's outcomes (one per blob). Returns the cursor after it and whether more follow.</summary>
    public async Task<(VersionCursor Next, bool More)> RepairPageAsync(string bucket, VersionCursor cursor, Action<ObjectRecord, IReadOnlyList<RepairOutcome>> repaired,
        CancellationToken ct = default)
    {
        var copies = store.Placement.CopiesOf(bucket);
        var (records, next, more) = await VersionWalk.NextAsync(catalog, bucket, cursor, PageSize, ct).ConfigureAwait(false);
        var items = records.Select(ObjectBlobs.Of).ToList();
        var recorded = await RecordedAsync(items.SelectMany(i => i).Select(i => i.Key).ToList(), ct).ConfigureAwait(false);
        for (var r = 0; r < records.Count; r++)
        {
            var outcomes = new List<RepairOutcome>();
            foreach (var item in items[r])
                outcomes.Add(recorded is null || NeedsCheck(item, items[r][0].Key, copies, recorded)
                    ? await _repairer.RepairAsync(item, copies, ct).ConfigureAwait(false)
                    : new RepairOutcome(item.Key, [], [], null));
            repaired(records[r], outcomes);
        }
        return (next, more);
    }

    /// <summary>The backends the record says hold each blob; null when every copy is to be read (<c>--verify</c>, or no record is kept).</summary>
    private async Task<Dictionary<string, HashSet<string>>?> RecordedAsync(IReadOnlyCollection<string> blobs, CancellationToken ct)
    {
        if (verify || store.Copies is not { } ledger) return null;
        await ledger.FlushAsync().ConfigureAwait(false); // this process's own writes are in the record before it is read
        return (await ledger.Store.OfAsync(blobs, ct).ConfigureAwait(false))
            .GroupBy(c => c.Blob, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(c => c.Backend).ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
    }

    private static bool NeedsCheck(RepairItem item, string firstPart, IReadOnlyList<string> copies, Dictionary<string, HashSet<string>> recorded) =>
        recorded.TryGetValue(item.Key, out var holders) ? !copies.All(holders.Contains)
            : !(item.OptionalAnnex && recorded.ContainsKey(firstPart));
}
