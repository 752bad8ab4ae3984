using System.Text.Json;

namespace Coffre.Storage.Placement;

/// <summary>
/// The provider catalog (catalog/providers.json, docs/providers.md): sourced facts per provider region. It is data
/// shipped beside the binary; <see cref="Load"/> reads it once. Only the facts placement and its reports use are kept.
/// </summary>
public sealed class ProviderCatalog
{
    /// <summary>Where the shipped catalog lies, relative to the application's directory (copied there at build).</summary>
    public const string ShippedRelativePath = "catalog/providers.json";

    private readonly Dictionary<string, CatalogRegion> _regions;

    private ProviderCatalog(Dictionary<string, CatalogRegion> regions, string path)
    {
        _regions = regions;
        Path = path;
    }

    /// <summary>The file it was read from.</summary>
    public string Path { get; }

    public IReadOnlyCollection<CatalogRegion> Regions => _regions.Values;

    public CatalogRegion? Find(string regionId) => _regions.GetValueOrDefault(regionId);

    public static string ShippedPath => System.IO.Path.Combine(AppContext.BaseDirectory, ShippedRelativePath);

    /// <summary>Reads a catalog; throws <see cref="InvalidDataException"/> naming the file and the entry that is malformed.</summary>
    public static ProviderCatalog Load(string path)
    {
        JsonDocument document;
        try
        {
            using var stream = File.OpenRead(path);
            document = JsonDocument.Parse(stream);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new InvalidDataException($"The provider catalog '{path}' cannot be read: {e.Message}", e);
        }
        using (document)
        {
            try
            {
                var root = document.RootElement;
                var providers = root.GetProperty("providers").EnumerateArray()
                    .ToDictionary(p => p.GetProperty("id").GetString()!, ParseProvider, StringComparer.Ordinal);
                var regions = new Dictionary<string, CatalogRegion>(StringComparer.Ordinal);
                foreach (var r in root.GetProperty("regions").EnumerateArray())
                {
                    var id = r.GetProperty("id").GetString()!;
                    var providerId = r.GetProperty("provider").GetString()!;
                    if (!providers.TryGetValue(providerId, out var provider))
                        throw new InvalidDataException($"region '{id}' names provider '{providerId}', which the catalog does not define.");
                    if (!regions.TryAdd(id, new CatalogRegion(id, provider, Text(r, "country"), Text(r, "city"), Text(r, "s3Endpoint"))))
                        throw new InvalidDataException($"region '{id}' is defined twice.");
                }
                return new ProviderCatalog(regions, path);
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or InvalidDataException or ArgumentException)
            {
                throw new InvalidDataException($"The provider catalog '{path}' is malformed ({e.Message}); check it with tools/check_provider_catalog.py.", e);
            }
        }
    }

    private static CatalogProvider ParseProvider(JsonElement p)
    {
        var headquarters = Text(p, "headquarters");
        var parent = Sourced(p, "controllingParent", v => v.GetProperty("country").GetString());
        var parentName = Sourced(p, "controllingParent", v => v.GetProperty("name").GetString());
        // The home jurisdiction is both countries (docs/providers.md); if either is unknown, so is the set.
        var jurisdiction = headquarters.IsKnown && parent.IsKnown
            ? new Fact<IReadOnlyList<string>>(new[] { headquarters.Value!, parent.Value! }.Distinct().Order(StringComparer.Ordinal).ToList(),
                FactOrigin.Catalog, headquarters.Source + " ; " + parent.Source, headquarters.Checked)
            : Fact<IReadOnlyList<string>>.Unknown;
        var certifications = Facts(p, "certifications").Select(f =>
        {
            var v = f.Value;
            bool? covers = v.TryGetProperty("coversObjectStorage", out var c) && c.ValueKind is JsonValueKind.True or JsonValueKind.False ? c.GetBoolean() : null;
            IReadOnlyList<string>? regions = v.TryGetProperty("regions", out var rs) ? rs.EnumerateArray().Select(x => x.GetString()!).ToList() : null;
            return new CertificationFact(v.GetProperty("name").GetString()!, v.GetProperty("status").GetString()!, OptionalString(v, "level"),
                OptionalString(v, "scope"), covers, regions, FactOrigin.Catalog, f.Source, f.Checked);
        }).ToList();
        var exposures = Facts(p, "exposure").Select(f => new ExposureFact(f.Value.GetProperty("regime").GetString()!,
            f.Value.GetProperty("status").GetString()!, OptionalString(f.Value, "basis"), FactOrigin.Catalog, f.Source, f.Checked)).ToList();
        return new CatalogProvider(p.GetProperty("id").GetString()!, p.GetProperty("name").GetString()!, p.GetProperty("kind").GetString()!,
            Text(p, "operator"), jurisdiction, parentName, certifications, exposures);
    }

    private static string? OptionalString(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static Fact<string> Text(JsonElement owner, string name) => Sourced(owner, name, v => v.GetString());

    private static Fact<string> Sourced(JsonElement owner, string name, Func<JsonElement, string?> value)
    {
        if (!owner.TryGetProperty(name, out var fact) || fact.ValueKind == JsonValueKind.String) return Fact<string>.Unknown; // "unknown"
        return new Fact<string>(value(fact.GetProperty("value")), FactOrigin.Catalog, fact.GetProperty("source").GetString(),
            fact.GetProperty("checked").GetString());
    }

    private static IEnumerable<(JsonElement Value, string? Source, string? Checked)> Facts(JsonElement owner, string name) =>
        owner.TryGetProperty(name, out var list)
            ? list.EnumerateArray().Where(f => f.ValueKind == JsonValueKind.Object)
                .Select(f => (f.GetProperty("value"), f.GetProperty("source").GetString(), f.GetProperty("checked").GetString()))
            : [];
}

/// <summary>A provider of the catalog: its operator, home jurisdiction, certifications and legal exposure.</summary>
public sealed record CatalogProvider(string Id, string Name, string Kind, Fact<string> Operator, Fact<IReadOnlyList<string>> Jurisdiction,
    Fact<string> ControllingParent, IReadOnlyList<CertificationFact> Certifications, IReadOnlyList<ExposureFact> Exposures);

/// <summary>A region of the catalog (<c>operator/region</c>): where it is and how to reach it.</summary>
public sealed record CatalogRegion(string Id, CatalogProvider Provider, Fact<string> Country, Fact<string> City, Fact<string> S3Endpoint);
