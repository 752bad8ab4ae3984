namespace Coffre.Objects.Versions;

/// <summary>What a DeleteObject did: the version it removed or the delete marker it made (<see cref="VersionId"/>;
/// null in an unversioned bucket), and whether that version is a delete marker.</summary>
public sealed record DeleteOutcome(string? VersionId, bool DeleteMarker);
