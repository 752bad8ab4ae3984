namespace Coffre.Objects.Catalog;

/// <summary>
/// One version of an object name: an object (<see cref="Record"/> set) or a delete marker (<see cref="Record"/> null).
/// <see cref="IsLatest"/>: the most recently committed version of its name.
/// </summary>
public sealed record VersionEntry(string Bucket, string Name, string VersionId, bool IsLatest, DateTimeOffset Modified, ObjectRecord? Record)
{
    public bool IsDeleteMarker => Record is null;
}

/// <summary>One page of ListObjectVersions: versions (newest first within a name) and rolled-up common prefixes, in
/// name order; each prefix counts as one entry. When truncated, the next page starts after
/// (<see cref="NextKeyMarker"/>, <see cref="NextVersionIdMarker"/>).</summary>
public sealed record VersionPage(IReadOnlyList<VersionListEntry> Entries, bool IsTruncated, string? NextKeyMarker, string? NextVersionIdMarker);

/// <summary>Either a version (Version set) or a common prefix (Prefix set).</summary>
public sealed record VersionListEntry(VersionEntry? Version, string? Prefix);
