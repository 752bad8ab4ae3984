using Coffre.Storage.Placement;

namespace Coffre.Storage.Tests.Placement;

/// <summary>The catalog shipped beside the binaries (copied from catalog/providers.json at build), and backends described with it.</summary>
public static class PlacementTestCatalog
{
    public static ProviderCatalog Shipped { get; } = ProviderCatalog.Load(ProviderCatalog.ShippedPath);

    public static BackendFacts Backend(string name, string? provider, FactsOptions? facts = null) =>
        BackendFacts.Resolve(name, provider, facts, Shipped);

    public static PlacementPlanner Planner(params BackendFacts[] backends) =>
        new(backends.ToDictionary(b => b.Backend, StringComparer.Ordinal));

    /// <summary>An on-premises backend whose facts the organisation states itself.</summary>
    public static BackendFacts OnPrem(string name, string operatorName = "Ministère X", string country = "FR") => Backend(name, null, new FactsOptions
    {
        Country = country,
        Operator = operatorName,
        Jurisdiction = country,
        Exposures = new() { ["us-cloud-act"] = "none-identified" },
    });
}
