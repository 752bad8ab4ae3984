namespace Coffre.Storage.Placement;

/// <summary>
/// The placement of every bucket: its policy (its own, else the default) and the backends that hold its copies,
/// decided once from configuration. Asked by the S3 face before a bucket is created and by
/// <see cref="PlacementBlobStore"/> on every write.
/// </summary>
public sealed class BucketPlacement
{
    private readonly PlacementPlanner _planner;
    private readonly PlacementPolicy _default;
    private readonly IReadOnlyDictionary<string, PlacementPolicy> _buckets;
    private readonly Dictionary<string, PlacementDecision> _decisions = new(StringComparer.Ordinal);
    private readonly object _lock = new();

    public BucketPlacement(PlacementPlanner planner, PlacementPolicy? defaultPolicy, IReadOnlyDictionary<string, PlacementPolicy> buckets)
    {
        _planner = planner;
        _default = defaultPolicy ?? new PlacementPolicy();
        _buckets = buckets;
    }

    public PlacementPlanner Planner => _planner;

    /// <summary>Every problem of the default and the buckets' policies, one message per broken rule.</summary>
    public IReadOnlyList<string> Problems() =>
        [.. Decide(null).Problems, .. _buckets.Keys.Order(StringComparer.Ordinal).SelectMany(b => Decide(b).Problems)];

    public PlacementPolicy PolicyOf(string? bucket) => bucket is not null && _buckets.TryGetValue(bucket, out var p) ? p : _default;

    /// <summary>The decision for <paramref name="bucket"/> (null: blobs outside any bucket, placed by the default policy).</summary>
    public PlacementDecision Decide(string? bucket)
    {
        var key = bucket ?? "";
        lock (_lock)
        {
            if (_decisions.TryGetValue(key, out var known)) return known;
            var scope = bucket is not null && _buckets.ContainsKey(bucket) ? $"Buckets:{bucket}:Placement" : PlacementPlanner.DefaultScope;
            var decision = _planner.Decide(scope, PolicyOf(bucket));
            _decisions[key] = decision;
            return decision;
        }
    }

    /// <summary>The backends that must hold every blob of <paramref name="bucket"/>; throws when its policy cannot be satisfied.</summary>
    public IReadOnlyList<string> CopiesOf(string? bucket)
    {
        var decision = Decide(bucket);
        if (!decision.IsSatisfied)
            throw new PlacementException(bucket, $"The placement policy of bucket '{bucket}' cannot be satisfied by the configured backends: " +
                string.Join(" ", decision.Problems));
        return decision.Copies;
    }
}

/// <summary>A bucket's placement policy cannot be met: the bucket cannot be created, the write is refused.</summary>
public sealed class PlacementException(string? bucket, string message) : Exception(message)
{
    public string? Bucket { get; } = bucket;
}
