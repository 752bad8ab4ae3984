namespace Coffre.Storage.Placement;

/// <summary>One copy of a blob that a backend holds: a whole copy (<paramref name="Share"/> null), or share number
/// <paramref name="Share"/> of an erasure-coded blob (shares live under the blob's key, one per backend).</summary>
public sealed record BlobCopy(string Blob, string Backend, int? Share = null);

/// <summary>
/// A change to the record of where blobs are: a backend now holds a copy (<paramref name="Held"/>), or it no longer
/// does; a removal with no backend forgets the blob everywhere (deleted).
/// </summary>
public sealed record BlobCopyChange(string Blob, string? Backend, int? Share, bool Held)
{
    public static BlobCopyChange Holds(string blob, string backend, int? share = null) => new(blob, backend, share, true);

    public static BlobCopyChange Lost(string blob, string backend) => new(blob, backend, null, false);

    public static BlobCopyChange Deleted(string blob) => new(blob, null, null, false);
}

/// <summary>
/// Which backends hold each blob, as last seen by a write, a repair, a migration or a delete: the facts the
/// sovereignty report, repair and migration state, rather than deriving them from the placement. It lives in the
/// catalog database (SQLite: table <c>blob_copies</c> of catalog.db; PostgreSQL: <c>catalog.blob_copies</c>) and is
/// written asynchronously in batches (<see cref="BlobCopyLedger"/>), with `coffre repair` as the backstop that sets
/// it right. Implementations pass BlobCopyStoreContractTests.
/// </summary>
public interface IBlobCopyStore
{
    /// <summary>Applies the changes in order, in one transaction (a later change to the same copy wins).</summary>
    Task ApplyAsync(IReadOnlyList<BlobCopyChange> changes, CancellationToken ct = default);

    /// <summary>The copies of the given blobs, ordered by blob then backend (ordinal); a blob with none is absent.</summary>
    Task<IReadOnlyList<BlobCopy>> OfAsync(IReadOnlyCollection<string> blobs, CancellationToken ct = default);
}

/// <summary>The one order of copies in answers, whatever the database's collation.</summary>
public static class BlobCopies
{
    public static IReadOnlyList<BlobCopy> Ordered(IEnumerable<BlobCopy> copies) =>
        copies.OrderBy(c => c.Blob, StringComparer.Ordinal).ThenBy(c => c.Backend, StringComparer.Ordinal).ToList();
}
