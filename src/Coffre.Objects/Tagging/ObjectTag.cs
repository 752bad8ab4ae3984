namespace Coffre.Objects.Tagging;

/// <summary>
/// One tag of an object or a bucket (S3 object tagging). An object's tags are sealed with its metadata (they name
/// projects, owners, data classes: as telling as a file name); a bucket's are kept in the catalog.
/// </summary>
public sealed record ObjectTag(string Key, string Value);
