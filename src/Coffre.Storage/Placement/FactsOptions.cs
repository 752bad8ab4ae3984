using System.Text.RegularExpressions;

namespace Coffre.Storage.Placement;

/// <summary>
/// A backend's <c>Facts</c> block: what the organisation states about a backend itself, replacing the catalog's fact of
/// the same meaning (docs/providers.md, "Overriding an entry in configuration"). Unset properties keep the catalog's.
/// </summary>
public sealed partial class FactsOptions
{
    /// <summary>ISO 3166-1 alpha-2 country of the data centre (e.g. FR).</summary>
    public string? Country { get; set; }

    public string? City { get; set; }

    /// <summary>The region's identity for <c>DistinctBy: Region</c>; default: the catalog region id.</summary>
    public string? Region { get; set; }

    /// <summary>The legal entity that operates the storage.</summary>
    public string? Operator { get; set; }

    /// <summary>The operator's home jurisdiction: one or more ISO country codes, comma-separated (e.g. "FR" or "IE,US").</summary>
    public string? Jurisdiction { get; set; }

    /// <summary>Certifications held for this storage (e.g. SecNumCloud, HDS); replaces the catalog's list.</summary>
    public List<string>? Certifications { get; set; }

    /// <summary>Legal regime → status (applies, disputed, not-assessed, none-identified); replaces the catalog's list.</summary>
    public Dictionary<string, string>? Exposures { get; set; }

    public IReadOnlyList<string> JurisdictionCountries() =>
        Jurisdiction is null ? [] : Jurisdiction.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Distinct().Order(StringComparer.Ordinal).ToList();

    /// <summary>Every problem, as "Name: problem"; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Country is not null && !CountryRegex().IsMatch(Country))
            errors.Add($"Country: '{Country}' is not an ISO 3166-1 alpha-2 code in capitals (e.g. FR).");
        if (Jurisdiction is not null && (JurisdictionCountries().Count == 0 || JurisdictionCountries().Any(c => !CountryRegex().IsMatch(c))))
            errors.Add($"Jurisdiction: '{Jurisdiction}' is not a comma-separated list of ISO 3166-1 alpha-2 codes (e.g. FR or IE,US).");
        foreach (var (name, value) in new[] { ("City", City), ("Region", Region), ("Operator", Operator) })
            if (value is not null && string.IsNullOrWhiteSpace(value)) errors.Add($"{name}: must not be blank (remove it to keep the catalog's fact).");
        if (Certifications is not null)
            foreach (var c in Certifications.Where(string.IsNullOrWhiteSpace))
                errors.Add("Certifications: an entry is blank.");
        if (Exposures is not null)
            foreach (var (regime, status) in Exposures)
                if (!ExposureFact.Statuses.Contains(status))
                    errors.Add($"Exposures:{regime}: '{status}' is not one of {string.Join(", ", ExposureFact.Statuses)}.");
        return errors;
    }

    [GeneratedRegex("^[A-Z]{2}$")]
    private static partial Regex CountryRegex();
}
