using Coffre.Objects.Catalog;
using Coffre.Objects.Lifecycle;
using Coffre.Objects.Versions;

namespace Coffre.Objects;

/// <summary>
/// S3 lifecycle: the configuration per bucket, and the pass the maintenance service runs over every bucket that has
/// one. Every action goes through the same calls as a client's (DeleteObject, AbortMultipartUpload), so the catalog's
/// Object Lock refusal applies to it: a locked version is skipped and counted, never deleted.
/// </summary>
public sealed partial class ObjectStore
{
    private const int LifecyclePage = 1000;

    public async Task<LifecycleConfiguration?> GetLifecycleAsync(string bucket, CancellationToken ct = default)
    {
        await RequireBucketAsync(bucket, ct).ConfigureAwait(false);
        return await catalog.GetBucketSettingAsync(bucket, LifecycleConfiguration.Setting, ct).ConfigureAwait(false) is { } json
            ? LifecycleConfiguration.FromJson(json) : null;
    }

    /// <summary>Sets (or with null deletes) the bucket's lifecycle configuration, replacing any earlier one whole.</summary>
    public async Task PutLifecycleAsync(string bucket, LifecycleConfiguration? configuration, CancellationToken ct = default)
    {
        await RequireBucketAsync(bucket, ct).ConfigureAwait(false);
        if (!await catalog.SetBucketSettingAsync(bucket, LifecycleConfiguration.Setting, configuration?.ToJson(), ct).ConfigureAwait(false))
            throw CatalogRules.NoSuchBucket(bucket);
    }

    /// <summary>Every bucket's lifecycle configuration and its last pass (null: none yet), by bucket.</summary>
    public Task<IReadOnlyList<(string Bucket, LifecycleConfiguration Configuration, LifecycleRun? LastRun)>> ListLifecyclesAsync(CancellationToken ct = default) =>
        LifecycleConfiguration.ListAsync(catalog, ct);

    /// <summary>
    /// One lifecycle pass over every bucket with a configuration, at the store's clock: each action done is passed to
    /// <paramref name="audit"/> (which records it; its failure stops the pass), and each bucket's outcome is kept for
    /// the report. <paramref name="tags"/> gives a version's tags (null: not known; a rule filtering on tags then applies to nothing).
    /// </summary>
    public async Task<IReadOnlyList<(string Bucket, LifecycleRun Run)>> RunLifecycleAsync(Func<LifecycleAction, Task> audit,
        Func<ObjectRecord, CancellationToken, Task<IReadOnlyDictionary<string, string>?>>? tags = null, CancellationToken ct = default)
    {
        var done = new List<(string, LifecycleRun)>();
        foreach (var (bucket, configuration, _) in await ListLifecyclesAsync(ct).ConfigureAwait(false))
        {
            var started = time.GetUtcNow();
            var rules = configuration.Rules.Where(r => r.Enabled).ToList();
            var counts = rules.ToDictionary(r => r.Id, _ => new long[5], StringComparer.Ordinal);
            var pass = new LifecyclePass(this, catalog, bucket, rules, counts, audit, tags, started);
            await pass.RunAsync(ct).ConfigureAwait(false);
            var run = new LifecycleRun(started, time.GetUtcNow(),
                [.. rules.Select(r => counts[r.Id]).Select((c, i) => new LifecycleRuleRun(rules[i].Id, c[0], c[1], c[2], c[3], c[4]))]);
            await catalog.SetBucketSettingAsync(bucket, LifecycleConfiguration.RunSetting, run.ToJson(), ct).ConfigureAwait(false);
            done.Add((bucket, run));
        }
        return done;
    }

    /// <summary>One bucket's pass: its versions name by name (newest first within a name), then its uploads.</summary>
    private sealed class LifecyclePass(ObjectStore store, IObjectCatalog catalog, string bucket, List<LifecycleRule> rules, Dictionary<string, long[]> counts,
        Func<LifecycleAction, Task> audit, Func<ObjectRecord, CancellationToken, Task<IReadOnlyDictionary<string, string>?>>? tags, DateTimeOffset now)
    {
        private const int Expired = 0, Noncurrent = 1, Markers = 2, Aborted = 3, Locked = 4;

        public async Task RunAsync(CancellationToken ct)
        {
            var versioned = (await store.RequireBucketAsync(bucket, ct).ConfigureAwait(false)).Versioning != BucketVersioning.Unversioned;
            string? keyMarker = null, versionMarker = null;
            var name = new List<VersionEntry>();
            while (true)
            {
                var page = await catalog.ListVersionsAsync(bucket, "", null, keyMarker, versionMarker, LifecyclePage, ct).ConfigureAwait(false);
                foreach (var entry in page.Entries.Select(e => e.Version!))
                {
                    if (name.Count > 0 && name[0].Name != entry.Name)
                    {
                        await ApplyAsync(name, versioned, ct).ConfigureAwait(false);
                        name.Clear();
                    }
                    name.Add(entry);
                }
                if (!page.IsTruncated) break;
                (keyMarker, versionMarker) = (page.NextKeyMarker, page.NextVersionIdMarker);
            }
            if (name.Count > 0) await ApplyAsync(name, versioned, ct).ConfigureAwait(false);
            foreach (var rule in rules.Where(r => r.AbortIncompleteUploadDays is not null))
                foreach (var upload in await catalog.ListUploadsAsync(bucket, rule.Filter.Prefix, ct).ConfigureAwait(false))
                    if (LifecycleConfiguration.DueAfter(upload.Created, rule.AbortIncompleteUploadDays!.Value) <= now
                        && await catalog.AbortUploadAsync(upload.UploadId, ct).ConfigureAwait(false))
                        await DoneAsync(rule, Aborted, LifecycleAction.AbortUpload, upload.Name, upload.UploadId).ConfigureAwait(false);
        }

        /// <summary>The rules' actions on one name's versions, newest first (a version is noncurrent from its successor's date).</summary>
        private async Task ApplyAsync(List<VersionEntry> versions, bool versioned, CancellationToken ct)
        {
            var remaining = versions.Count;
            var latest = versions[0];
            if (latest.Record is { } current)
            {
                var currentTags = await TagsAsync(current, ct).ConfigureAwait(false);
                var rule = rules.FirstOrDefault(r => r.Filter.Matches(current.Name, current.Size, currentTags) && CurrentDue(r, current.Modified));
                if (rule is not null)
                {
                    // In a versioned bucket, expiring the current version hides it under a delete marker (nothing is lost); unversioned, it is deleted.
                    var outcome = await TryAsync(rule, () => store.DeleteObjectAsync(bucket, current.Name, ct: ct)).ConfigureAwait(false);
                    if (outcome is not null)
                    {
                        await DoneAsync(rule, Expired, LifecycleAction.Expire, current.Name, current.VersionId).ConfigureAwait(false);
                        if (!versioned) return;
                    }
                }
            }
            for (var i = 1; i < versions.Count; i++)
            {
                var version = versions[i];
                var noncurrentSince = versions[i - 1].Modified;
                var versionTags = version.Record is { } r ? await TagsAsync(r, ct).ConfigureAwait(false) : null;
                var rule = rules.FirstOrDefault(x => x.NoncurrentDays is { } days && x.Filter.Matches(version.Name, version.Record?.Size, versionTags)
                    && LifecycleConfiguration.DueAfter(noncurrentSince, days) <= now && i - 1 >= (x.NewerNoncurrentVersions ?? 0));
                if (rule is null) continue;
                if (await TryAsync(rule, () => store.DeleteObjectAsync(bucket, version.Name, version.VersionId, ct)).ConfigureAwait(false) is null) continue;
                remaining--;
                await DoneAsync(rule, Noncurrent, LifecycleAction.DeleteNoncurrent, version.Name, version.VersionId).ConfigureAwait(false);
            }
            if (latest.IsDeleteMarker && remaining == 1
                && rules.FirstOrDefault(r => r.ExpiredObjectDeleteMarker && r.Filter.Matches(latest.Name, null, null) && !r.Filter.HasTags) is { } markerRule
                && await TryAsync(markerRule, () => store.DeleteObjectAsync(bucket, latest.Name, latest.VersionId, ct)).ConfigureAwait(false) is not null)
                await DoneAsync(markerRule, Markers, LifecycleAction.RemoveDeleteMarker, latest.Name, latest.VersionId).ConfigureAwait(false);
        }

        private bool CurrentDue(LifecycleRule rule, DateTimeOffset created) =>
            (rule.ExpirationDays is { } days && LifecycleConfiguration.DueAfter(created, days) <= now) || rule.ExpirationDate <= now;

        private async Task<IReadOnlyDictionary<string, string>?> TagsAsync(ObjectRecord record, CancellationToken ct) =>
            tags is null || !rules.Any(r => r.Filter.HasTags) ? null : await tags(record, ct).ConfigureAwait(false);

        /// <summary>A delete the version's lock refuses is counted and skipped: the lifecycle never forces a lock.</summary>
        private async Task<DeleteOutcome?> TryAsync(LifecycleRule rule, Func<Task<DeleteOutcome>> delete)
        {
            try
            {
                return await delete().ConfigureAwait(false);
            }
            catch (ObjectStoreException e) when (e.Error == ObjectError.ObjectLocked)
            {
                counts[rule.Id][Locked]++;
                return null;
            }
        }

        private Task DoneAsync(LifecycleRule rule, int counter, string kind, string name, string? versionId)
        {
            counts[rule.Id][counter]++;
            return audit(new LifecycleAction(bucket, rule.Id, kind, name, versionId));
        }
    }
}
