namespace Coffre.Objects.Catalog;

/// <summary>
/// A bucket's configuration documents (Object Lock, lifecycle, ...), each stored whole under a name, as text (JSON)
/// that the catalog never queries inside: the domain reads and writes them, the way a part list is stored.
/// Deleting the bucket deletes them.
/// </summary>
public interface IBucketSettingsCatalog
{
    /// <summary>The bucket's setting <paramref name="name"/>, or null when it has none.</summary>
    Task<string?> GetBucketSettingAsync(string bucket, string name, CancellationToken ct = default);

    /// <summary>Sets (or with null removes) a setting; false when the bucket does not exist.</summary>
    Task<bool> SetBucketSettingAsync(string bucket, string name, string? value, CancellationToken ct = default);

    /// <summary>Every bucket that has the setting <paramref name="name"/>, by bucket name, with its value.</summary>
    Task<IReadOnlyList<(string Bucket, string Value)>> ListBucketSettingsAsync(string name, CancellationToken ct = default);
}
