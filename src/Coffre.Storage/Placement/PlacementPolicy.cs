namespace Coffre.Storage.Placement;

/// <summary>
/// Where a bucket's blobs may live and how many copies it needs (<c>DefaultPlacement</c>, <c>Buckets:{name}:Placement</c>).
/// Plain data bound from configuration; <see cref="PlacementPlanner"/> checks it against the backends' facts.
/// </summary>
public sealed class PlacementPolicy
{
    /// <summary>The candidate backends, in order of preference; null or empty: every configured backend, by name.</summary>
    public List<string>? Backends { get; set; }

    /// <summary>How many copies of every blob must be durable before a write is acknowledged.</summary>
    public int Copies { get; set; } = 1;

    /// <summary>K-of-N erasure coding over N distinct backends instead of copies; null: full copies.</summary>
    public ErasurePolicy? Erasure { get; set; }

    /// <summary>What must differ between any two copies: Operator, Jurisdiction, Region, Country.</summary>
    public List<string> DistinctBy { get; set; } = [];

    /// <summary>Allowed countries of the data centres (ISO codes); empty: any.</summary>
    public List<string> Countries { get; set; } = [];

    /// <summary>Certifications every copy's backend must hold for object storage (e.g. SecNumCloud, HDS).</summary>
    public List<string> Certifications { get; set; } = [];

    /// <summary>Legal regimes (e.g. us-cloud-act) that must not reach any copy's operator: only "none-identified" passes.</summary>
    public List<string> ForbiddenExposures { get; set; } = [];

    /// <summary>This policy with other candidate backends (a placement switched by `coffre migrate`); every other rule kept.</summary>
    public PlacementPolicy WithBackends(IEnumerable<string> backends)
    {
        var copy = (PlacementPolicy)MemberwiseClone();
        copy.Backends = [.. backends];
        return copy;
    }
}

/// <summary>A property of a backend two copies must not share (<see cref="PlacementPolicy.DistinctBy"/>).</summary>
public enum DistinctBy
{
    Operator,
    Jurisdiction,
    Region,
    Country,
}
