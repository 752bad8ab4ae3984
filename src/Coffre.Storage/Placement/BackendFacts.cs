namespace Coffre.Storage.Placement;

/// <summary>
/// What is known about one configured backend: its catalog region (when it names one) with the configuration's
/// <c>Facts</c> laid over it. Placement rules and reports read these; an unknown fact satisfies no rule.
/// </summary>
public sealed record BackendFacts(
    string Backend,
    string? Provider,
    string? ProviderName,
    Fact<string> Country,
    Fact<string> City,
    Fact<string> Region,
    Fact<string> Operator,
    Fact<IReadOnlyList<string>> Jurisdiction,
    IReadOnlyList<CertificationFact> Certifications,
    IReadOnlyList<ExposureFact> Exposures)
{
    /// <summary>
    /// Resolves a backend's facts. <paramref name="provider"/> must be a region id of <paramref name="catalog"/> (check
    /// with <see cref="ProviderCatalog.Find"/> first); null means facts come from <paramref name="facts"/> alone.
    /// </summary>
    public static BackendFacts Resolve(string backend, string? provider, FactsOptions? facts, ProviderCatalog catalog)
    {
        var region = provider is null ? null : catalog.Find(provider)
            ?? throw new ArgumentException($"Backend '{backend}': provider '{provider}' is not in the catalog {catalog.Path}.", nameof(provider));
        facts ??= new FactsOptions();
        return new BackendFacts(
            backend,
            provider,
            region?.Provider.Name,
            Over(facts.Country, region?.Country),
            Over(facts.City, region?.City),
            Over(facts.Region, region is null ? null : new Fact<string>(region.Id, FactOrigin.Catalog, $"provider catalog region id ({catalog.Path})", region.Country.Checked)),
            Over(facts.Operator, region?.Provider.Operator),
            facts.Jurisdiction is not null
                ? Fact<IReadOnlyList<string>>.Stated(facts.JurisdictionCountries())
                : region?.Provider.Jurisdiction ?? Fact<IReadOnlyList<string>>.Unknown,
            facts.Certifications is { } certifications
                ? certifications.Select(c => new CertificationFact(c, "stated", null, null, true, null, FactOrigin.Configuration, null, null)).ToList()
                : region?.Provider.Certifications ?? [],
            facts.Exposures is { } exposures
                ? exposures.Select(e => new ExposureFact(e.Key, e.Value, null, FactOrigin.Configuration, null, null)).ToList()
                : region?.Provider.Exposures ?? []);
    }

    private static Fact<string> Over(string? stated, Fact<string>? catalog) =>
        stated is not null ? Fact<string>.Stated(stated) : catalog ?? Fact<string>.Unknown;

    /// <summary>Whether the backend holds <paramref name="certification"/> for object storage in its region.</summary>
    public bool Holds(string certification) =>
        Certifications.Any(c => c.Name.Equals(certification, StringComparison.OrdinalIgnoreCase) && c.Covers(Provider));

    /// <summary>The status of <paramref name="regime"/> for this backend, or null when no fact mentions it.</summary>
    public string? ExposureTo(string regime) =>
        Exposures.FirstOrDefault(e => e.Regime.Equals(regime, StringComparison.OrdinalIgnoreCase))?.Status;
}
