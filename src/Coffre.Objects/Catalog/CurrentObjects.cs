namespace Coffre.Objects.Catalog;

/// <summary>The current object of a name, as every caller that ignores versions asks for it.</summary>
public static class CurrentObjects
{
    /// <summary>The latest version of a name, unless that is a delete marker (then, as for a name never written, null).</summary>
    public static async Task<ObjectRecord?> GetObjectAsync(this IObjectCatalog catalog, string bucket, string name, CancellationToken ct = default) =>
        (await catalog.GetVersionAsync(bucket, name, null, ct).ConfigureAwait(false))?.Record;
}
