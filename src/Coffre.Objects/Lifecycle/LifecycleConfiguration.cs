using System.Text.Json;

namespace Coffre.Objects.Lifecycle;

/// <summary>
/// Which versions a lifecycle rule applies to: a key prefix, tags (all of them), and object size bounds (exclusive).
/// An empty filter applies to every object of the bucket.
/// </summary>
public sealed record LifecycleFilter(string Prefix = "", IReadOnlyList<KeyValuePair<string, string>>? Tags = null, long? SizeGreaterThan = null, long? SizeLessThan = null)
{
    public bool HasTags => Tags is { Count: > 0 };

    /// <summary>Whether an object (or, with <paramref name="size"/> null, a delete marker) matches; <paramref name="tags"/>
    /// null when the version's tags are not known, which matches no tag filter.</summary>
    public bool Matches(string name, long? size, IReadOnlyDictionary<string, string>? tags)
    {
        if (!name.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        if (size is { } s && (s <= SizeGreaterThan || s >= SizeLessThan)) return false;
        if (HasTags && (tags is null || Tags!.Any(t => !tags.TryGetValue(t.Key, out var v) || v != t.Value))) return false;
        return true;
    }
}

/// <summary>One rule of a bucket's lifecycle configuration (S3's LifecycleRule), with the actions Coffre executes.</summary>
public sealed record LifecycleRule(
    string Id,
    bool Enabled,
    LifecycleFilter Filter,
    int? ExpirationDays = null,
    DateTimeOffset? ExpirationDate = null,
    bool ExpiredObjectDeleteMarker = false,
    int? NoncurrentDays = null,
    int? NewerNoncurrentVersions = null,
    int? AbortIncompleteUploadDays = null);

/// <summary>A bucket's lifecycle configuration, stored whole as JSON in the bucket's settings.</summary>
public sealed record LifecycleConfiguration(IReadOnlyList<LifecycleRule> Rules)
{
    /// <summary>The bucket settings that hold it and its last run (<see cref="Catalog.IBucketSettingsCatalog"/>).</summary>
    public const string Setting = "lifecycle", RunSetting = "lifecycle-run";

    /// <summary>S3's limit on rules per configuration.</summary>
    public const int MaxRules = 1000;

    public string ToJson() => JsonSerializer.Serialize(this);

    public static LifecycleConfiguration FromJson(string json) => JsonSerializer.Deserialize<LifecycleConfiguration>(json)!;

    /// <summary>Every bucket's configuration and its last pass (null: none yet), by bucket: from the catalog alone, for the report.</summary>
    public static async Task<IReadOnlyList<(string Bucket, LifecycleConfiguration Configuration, LifecycleRun? LastRun)>> ListAsync(
        Catalog.IBucketSettingsCatalog catalog, CancellationToken ct = default)
    {
        var runs = (await catalog.ListBucketSettingsAsync(RunSetting, ct).ConfigureAwait(false))
            .ToDictionary(r => r.Bucket, r => LifecycleRun.FromJson(r.Value), StringComparer.Ordinal);
        return [.. (await catalog.ListBucketSettingsAsync(Setting, ct).ConfigureAwait(false))
            .Select(c => (c.Bucket, FromJson(c.Value), runs.GetValueOrDefault(c.Bucket)))];
    }

    /// <summary>
    /// When an action "N days after" <paramref name="since"/> is due: S3 counts from the event and rounds up to the next
    /// midnight UTC.
    /// </summary>
    public static DateTimeOffset DueAfter(DateTimeOffset since, int days)
    {
        var at = since.ToUniversalTime().AddDays(days);
        var midnight = new DateTimeOffset(at.Date, TimeSpan.Zero);
        return midnight == at ? at : midnight.AddDays(1);
    }
}

/// <summary>What one lifecycle pass did to one bucket, per rule: shown by `coffre report lifecycle`.</summary>
public sealed record LifecycleRun(DateTimeOffset Started, DateTimeOffset Finished, IReadOnlyList<LifecycleRuleRun> Rules)
{
    public string ToJson() => JsonSerializer.Serialize(this);

    public static LifecycleRun FromJson(string json) => JsonSerializer.Deserialize<LifecycleRun>(json)!;
}

/// <summary>
/// A rule's work in one pass: current versions expired (deleted, or hidden under a delete marker in a versioned
/// bucket), noncurrent versions deleted, lone delete markers removed, uploads aborted, and versions left alone because
/// Object Lock protects them.
/// </summary>
public sealed record LifecycleRuleRun(string Id, long Expired, long NoncurrentDeleted, long DeleteMarkersRemoved, long UploadsAborted, long SkippedLocked);
