using Coffre.Objects.Catalog;

namespace Coffre.Objects;

/// <summary>
/// What a key protects, from the catalog alone (no backend, no key manager): the reports an auditor is shown,
/// and what becomes unreadable if a key version is destroyed.
/// </summary>
public sealed class KeyImpact(IObjectCatalog catalog)
{
    /// <summary>The objects under a key, or one of its versions, by (bucket, name).</summary>
    public Task<IReadOnlyList<(string Bucket, string Name, int Version)>> ObjectsUnderKeyAsync(string keyId, int? version = null, CancellationToken ct = default) =>
        catalog.ObjectsUnderKeyAsync(keyId, version, ct);

    /// <summary>How many objects each (key id, version) protects.</summary>
    public Task<IReadOnlyDictionary<(string KeyId, int Version), long>> CountByKeyVersionAsync(CancellationToken ct = default) =>
        catalog.CountByKeyVersionAsync(ct);
}
