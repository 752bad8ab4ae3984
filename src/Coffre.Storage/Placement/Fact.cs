namespace Coffre.Storage.Placement;

/// <summary>Where a backend's fact comes from: the shipped provider catalog (sourced and dated), the operator's own
/// configuration (vouched for by the organisation, no source), or nowhere.</summary>
public enum FactOrigin
{
    Unknown,
    Catalog,
    Configuration,
}

/// <summary>
/// One fact about a backend with its provenance, so that every answer built on it (a placement decision, the
/// sovereignty report) can say who established it. An unknown fact never satisfies a placement rule (docs/providers.md).
/// </summary>
public sealed record Fact<T>(T? Value, FactOrigin Origin, string? Source = null, string? Checked = null) where T : class
{
    public static readonly Fact<T> Unknown = new(null, FactOrigin.Unknown);

    public static Fact<T> Stated(T value) => new(value, FactOrigin.Configuration);

    public bool IsKnown => Origin != FactOrigin.Unknown && Value is not null;
}

/// <summary>A certification held by a backend's provider (docs/providers.md, "certifications").</summary>
public sealed record CertificationFact(string Name, string Status, string? Level, string? Scope, bool? CoversObjectStorage,
    IReadOnlyList<string>? Regions, FactOrigin Origin, string? Source, string? Checked)
{
    /// <summary>
    /// Whether it counts for object storage in <paramref name="region"/>: qualified or certified, covering object storage,
    /// and naming the region when the certificate lists regions. Stated in configuration: the organisation vouches for all of it.
    /// </summary>
    public bool Covers(string? region) => Origin == FactOrigin.Configuration
        || (Status is "qualified" or "certified" && CoversObjectStorage == true
            && (Regions is null || (region is not null && Regions.Contains(region, StringComparer.Ordinal))));
}

/// <summary>Exposure of a backend's operator to a legal regime (docs/providers.md, "Judging legal exposure").</summary>
public sealed record ExposureFact(string Regime, string Status, string? Basis, FactOrigin Origin, string? Source, string? Checked)
{
    /// <summary>The statuses of the catalog; only <see cref="NoneIdentified"/> satisfies a forbidden exposure.</summary>
    public static readonly IReadOnlyList<string> Statuses = ["applies", "disputed", "not-assessed", NoneIdentified];

    public const string NoneIdentified = "none-identified";
}
