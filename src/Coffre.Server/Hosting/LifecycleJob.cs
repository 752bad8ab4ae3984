using Coffre.Kms.Keys;
using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Objects.Lifecycle;
using Microsoft.Extensions.Logging;

namespace Coffre.Server.Hosting;

/// <summary>
/// The buckets' lifecycle rules, run by the maintenance service once per <c>Coffre:LifecycleInterval</c> (off when
/// zero) under the <c>lifecycle</c> lease. Every action is recorded in the audit trail (operation
/// <c>Lifecycle.{kind}</c>, with bucket, rule, object and version) once done; an audit failure stops the pass.
/// </summary>
public sealed class LifecycleJob(ObjectStore store, KeyManager keys, CoffreServerOptions options, TimeProvider time, ILogger log)
{
    private DateTimeOffset? _lastPass;

    public bool IsDue() =>
        options.LifecycleInterval > TimeSpan.Zero && (_lastPass is not { } last || time.GetUtcNow() - last >= options.LifecycleInterval);

    public async Task RunAsync(CancellationToken ct)
    {
        _lastPass = time.GetUtcNow();
        var runs = await store.RunLifecycleAsync(Audit, TagsAsync, ct).ConfigureAwait(false);
        foreach (var (bucket, run) in runs)
        {
            var done = run.Rules.Sum(r => r.Expired + r.NoncurrentDeleted + r.DeleteMarkersRemoved + r.UploadsAborted);
            var locked = run.Rules.Sum(r => r.SkippedLocked);
            if (done + locked > 0)
                log.LogInformation("Lifecycle of bucket {Bucket}: {Done} action(s), {Locked} version(s) left alone under Object Lock", bucket, done, locked);
        }
    }

    /// <summary>
    /// A version's tags, for rules that filter on them: they are sealed in its metadata, so reading them is one audited
    /// unwrap of its data key by the system principal (asked only when some rule of the bucket has a tag filter).
    /// </summary>
    private async Task<IReadOnlyDictionary<string, string>?> TagsAsync(ObjectRecord record, CancellationToken ct)
    {
        var metadata = await store.ReadMetadataAsync(record, KeyManager.SystemPrincipal).ConfigureAwait(false);
        return (metadata.Tags ?? []).ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal);
    }

    private Task Audit(LifecycleAction action) => keys.RecordRootEventAsync("Lifecycle." + action.Kind, KeyManager.SystemPrincipal,
        ("bucket", action.Bucket), ("rule", action.RuleId), ("object", action.Name), ("version", action.VersionId));
}
