namespace Coffre.Storage.Placement;

/// <summary>
/// Decides which backends hold a bucket's copies: the candidates that pass every rule of the policy, then the first
/// combination (in candidate order) of <see cref="PlacementPolicy.Copies"/> of them that differ as DistinctBy asks. The
/// same configuration always gives the same copies. When no combination exists, the decision lists every rule broken,
/// naming the bucket and the backend.
/// </summary>
public sealed class PlacementPlanner
{
    public const string DefaultScope = "DefaultPlacement";

    private readonly IReadOnlyDictionary<string, BackendFacts> _backends;

    /// <param name="backends">Every configured backend by name.</param>
    public PlacementPlanner(IReadOnlyDictionary<string, BackendFacts> backends) => _backends = backends;

    public IReadOnlyDictionary<string, BackendFacts> Backends => _backends;

    /// <param name="scope">What the policy belongs to, for messages: "bucket 'health'" or <see cref="DefaultScope"/>.</param>
    public PlacementDecision Decide(string scope, PlacementPolicy policy)
    {
        var problems = new List<string>();
        var distinct = new List<DistinctBy>();
        foreach (var d in policy.DistinctBy)
        {
            if (Enum.TryParse<DistinctBy>(d, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)) distinct.Add(parsed);
            else problems.Add($"{scope}: DistinctBy '{d}' is not one of {string.Join(", ", Enum.GetNames<DistinctBy>())}.");
        }
        if (policy.Copies < 1) problems.Add($"{scope}: Copies is {policy.Copies}; at least 1 copy is needed.");
        if (policy.Erasure is { } erasure) problems.AddRange(erasure.Problems(scope, policy));
        var candidates = policy.Backends is { Count: > 0 } listed ? listed : _backends.Keys.Order(StringComparer.Ordinal).ToList();
        foreach (var name in candidates.Where(n => !_backends.ContainsKey(n)))
            problems.Add($"{scope}: Backends names '{name}', which is not a configured backend (configured: {string.Join(", ", _backends.Keys.Order(StringComparer.Ordinal))}).");
        foreach (var dup in candidates.GroupBy(n => n).Where(g => g.Count() > 1))
            problems.Add($"{scope}: Backends lists '{dup.Key}' twice.");
        if (problems.Count > 0) return new PlacementDecision([], problems);

        var eligible = new List<BackendFacts>();
        foreach (var facts in candidates.Distinct().Select(n => _backends[n]))
        {
            var broken = RulesBroken(policy, distinct, facts).ToList();
            if (broken.Count == 0) eligible.Add(facts);
            else problems.AddRange(broken.Select(rule => $"{scope}: backend '{facts.Backend}' breaks {rule}."));
        }
        // A backend the policy names explicitly but can never use is a mistake to report; among all backends (no list), it is not.
        if (problems.Count > 0 && policy.Backends is { Count: > 0 }) return new PlacementDecision([], problems);
        // Erasure-coded: share i of every blob goes to the i-th backend chosen, so N distinct backends are needed.
        var copies = policy.Erasure?.N ?? policy.Copies;
        var chosen = Choose(eligible, copies, distinct);
        if (chosen is not null) return new PlacementDecision(chosen.Select(b => b.Backend).ToList(), []);
        var need = distinct.Count == 0 ? "" : $" that differ by {string.Join(" and ", distinct)}";
        problems.Add($"{scope}: {(policy.Erasure is null ? "Copies" : "Erasure N")} needs {copies} backend(s){need}, but only " +
            (eligible.Count == 0 ? "none of the candidates qualifies" : $"{string.Join(", ", eligible.Select(b => b.Backend))} qualify") +
            "; add a qualifying backend to Backends or relax the policy.");
        return new PlacementDecision([], problems);
    }

    private static IEnumerable<string> RulesBroken(PlacementPolicy policy, List<DistinctBy> distinct, BackendFacts facts)
    {
        if (policy.Countries.Count > 0 && !(facts.Country.IsKnown && policy.Countries.Contains(facts.Country.Value!, StringComparer.OrdinalIgnoreCase)))
            yield return $"Countries [{string.Join(", ", policy.Countries)}]: its country is {Show(facts.Country)}";
        foreach (var c in policy.Certifications.Where(c => !facts.Holds(c)))
            yield return $"Certifications: it holds no {c} covering object storage in its region";
        foreach (var regime in policy.ForbiddenExposures)
            if (facts.ExposureTo(regime) is not ExposureFact.NoneIdentified and var status)
                yield return $"ForbiddenExposures: its exposure to {regime} is {status ?? "unknown"} (only {ExposureFact.NoneIdentified} passes)";
        foreach (var d in distinct.Where(d => Key(facts, d) is null))
            yield return $"DistinctBy {d}: its {d.ToString().ToLowerInvariant()} is unknown";
    }

    private static string Show(Fact<string> fact) => fact.IsKnown ? $"'{fact.Value}'" : "unknown";

    /// <summary>The value two copies must not share, or null when unknown (then the backend cannot be told apart).</summary>
    private static IReadOnlyList<string>? Key(BackendFacts facts, DistinctBy by) => by switch
    {
        DistinctBy.Operator => facts.Operator.IsKnown ? [facts.Operator.Value!.ToUpperInvariant()] : null,
        DistinctBy.Jurisdiction => facts.Jurisdiction.IsKnown ? facts.Jurisdiction.Value : null,
        DistinctBy.Region => facts.Region.IsKnown ? [facts.Region.Value!] : null,
        DistinctBy.Country => facts.Country.IsKnown ? [facts.Country.Value!] : null,
        _ => null,
    };

    private static bool Differ(BackendFacts a, BackendFacts b, List<DistinctBy> distinct) =>
        distinct.All(d => !Key(a, d)!.Intersect(Key(b, d)!).Any());

    /// <summary>The first combination in candidate order (depth-first): deterministic, and small n keeps it cheap.</summary>
    private static List<BackendFacts>? Choose(List<BackendFacts> eligible, int copies, List<DistinctBy> distinct)
    {
        var chosen = new List<BackendFacts>();
        bool Search(int from)
        {
            if (chosen.Count == copies) return true;
            for (var i = from; i < eligible.Count; i++)
            {
                if (!chosen.All(c => Differ(c, eligible[i], distinct))) continue;
                chosen.Add(eligible[i]);
                if (Search(i + 1)) return true;
                chosen.RemoveAt(chosen.Count - 1);
            }
            return false;
        }
        return Search(0) ? chosen : null;
    }
}

/// <summary>The backends chosen for a policy, or why none could be.</summary>
public sealed record PlacementDecision(IReadOnlyList<string> Copies, IReadOnlyList<string> Problems)
{
    public bool IsSatisfied => Problems.Count == 0;
}
