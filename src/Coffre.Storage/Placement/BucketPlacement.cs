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

    public PlacementPolicy PolicyOf(string? bucket)
    {
        var policy = bucket is not null && _buckets.TryGetValue(bucket, out var p) ? p : _default;
        return bucket is not null && StateOf(bucket)?.Backends is { } switched ? policy.WithBackends(switched) : policy;
    }

    private IReadOnlyDictionary<string, BucketPlacementState> _states = new Dictionary<string, BucketPlacementState>();

    /// <summary>The bucket's persisted state (switched backends, migration under way), as last applied.</summary>
    public BucketPlacementState? StateOf(string bucket) => _states.GetValueOrDefault(bucket);

    /// <summary>The buckets whose placement `coffre migrate` switched (persisted, overriding configuration).</summary>
    public IEnumerable<string> SwitchedBuckets => _states.Values.Where(s => s.Backends is not null).Select(s => s.Bucket);

    /// <summary>Takes the persisted states (read again by every server within <see cref="MigrationStates.RefreshBound"/>).</summary>
    public void Apply(IReadOnlyList<BucketPlacementState> states)
    {
        var next = states.ToDictionary(s => s.Bucket, StringComparer.Ordinal);
        lock (_lock)
        {
            if (next.Count == _states.Count && next.All(s => _states.TryGetValue(s.Key, out var known) && Same(known, s.Value))) return;
            _states = next;
            _decisions.Clear();
        }
    }

    private static bool Same(BucketPlacementState a, BucketPlacementState b) =>
        a.Migration == b.Migration && (a.Backends ?? []).SequenceEqual(b.Backends ?? []) && (a.Backends is null) == (b.Backends is null);

    /// <summary>The decision for <paramref name="bucket"/> (null: blobs outside any bucket, placed by the default policy).</summary>
    public PlacementDecision Decide(string? bucket)
    {
        var key = bucket ?? "";
        lock (_lock)
        {
            if (_decisions.TryGetValue(key, out var known)) return known;
            var scope = bucket is not null && StateOf(bucket)?.Backends is not null ? $"the placement `coffre migrate` switched bucket '{bucket}' to"
                : bucket is not null && _buckets.ContainsKey(bucket) ? $"Buckets:{bucket}:Placement" : PlacementPlanner.DefaultScope;
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
        // A migration under way: writes go to both sides, so no copy made meanwhile is missing on either (docs/operations.md).
        if (bucket is not null && StateOf(bucket)?.Migration is { Phase: not MigrationPhase.Deleting } migration)
            return [.. decision.Copies.Union([migration.From, migration.To], StringComparer.Ordinal)];
        return decision.Copies;
    }
}

/// <summary>A bucket's placement policy cannot be met: the bucket cannot be created, the write is refused.</summary>
public sealed class PlacementException(string? bucket, string message) : Exception(message)
{
    public string? Bucket { get; } = bucket;
}
