using Coffre.Objects.Lifecycle;
using Coffre.Objects.Lock;
using Coffre.Objects.Versions;

namespace Coffre.Objects.Tests;

/// <summary>
/// The lifecycle pass over a real catalog and blobs, on a clock the test moves (days pass in a call): expiration by days
/// and date with prefix and size filters, noncurrent versions with NewerNoncurrentVersions, lone delete markers,
/// incomplete uploads; locked versions are never touched; every action is audited and the run is kept for the report.
/// </summary>
public sealed class LifecycleTests : IDisposable
{
    private readonly TestStore _t = new();
    private readonly List<LifecycleAction> _audited = [];

    public void Dispose() => _t.Dispose();

    private Task PutAsync(string bucket, string name, int size = 3, VersionLock? versionLock = null) =>
        _t.Store.PutObjectAsync(new PutObjectCommand(bucket, name, new MemoryStream(new byte[size]), size, new ObjectMetadata(), "tester", Lock: versionLock));

    private Task<IReadOnlyList<(string Bucket, LifecycleRun Run)>> RunAsync() =>
        _t.Store.RunLifecycleAsync(a => { _audited.Add(a); return Task.CompletedTask; });

    private async Task<List<(string Name, string VersionId, bool Marker)>> VersionsAsync(string bucket) =>
        (await _t.Store.ListVersionsAsync(bucket, "", null, null, null, 1000)).Entries.Select(e => (e.Version!.Name, e.Version.VersionId, e.Version.IsDeleteMarker)).ToList();

    [Fact]
    public async Task Current_objects_expire_by_days_at_the_next_midnight_matching_prefix_and_size()
    {
        await _t.Store.CreateBucketAsync("bkt", "tester");
        await PutAsync("bkt", "logs/small", 3);
        await PutAsync("bkt", "logs/big", 5000);
        await PutAsync("bkt", "keep/small", 3);
        await _t.Store.PutLifecycleAsync("bkt", new LifecycleConfiguration([
            new LifecycleRule("logs", true, new LifecycleFilter("logs/", SizeLessThan: 1000), ExpirationDays: 1),
            new LifecycleRule("off", false, new LifecycleFilter(), ExpirationDays: 1),
        ]));

        // Written at 12:00 on day 0: due at midnight after day 1 12:00, i.e. day 2 00:00.
        _t.Time.Advance(TimeSpan.FromHours(35));
        await RunAsync();
        Assert.Equal(3, (await VersionsAsync("bkt")).Count);
        _t.Time.Advance(TimeSpan.FromHours(1));
        var (_, run) = Assert.Single(await RunAsync());

        Assert.Equal(["keep/small", "logs/big"], (await VersionsAsync("bkt")).Select(v => v.Name));
        Assert.Equal([new LifecycleAction("bkt", "logs", LifecycleAction.Expire, "logs/small", VersionIds.Null)], _audited);
        Assert.Equal(new LifecycleRuleRun("logs", 1, 0, 0, 0, 0), Assert.Single(run.Rules));
        var (_, _, last) = Assert.Single(await _t.Store.ListLifecyclesAsync());
        Assert.Equal((run.Started, run.Finished), (last!.Started, last.Finished));
        Assert.Equal(run.Rules, last.Rules);
    }

    [Fact]
    public async Task In_a_versioned_bucket_expiry_adds_a_marker_noncurrent_versions_go_beyond_the_newest_kept_and_a_lone_marker_is_removed()
    {
        await _t.Store.CreateBucketAsync("vers", "tester");
        await _t.Store.SetVersioningAsync("vers", BucketVersioning.Enabled);
        for (var i = 0; i < 4; i++)
        {
            await PutAsync("vers", "k");
            _t.Time.Advance(TimeSpan.FromHours(1));
        }
        await PutAsync("vers", "gone");
        await _t.Store.DeleteObjectAsync("vers", "gone");
        var goneVersion = (await VersionsAsync("vers")).Single(v => v.Name == "gone" && !v.Marker).VersionId;
        await _t.Store.PutLifecycleAsync("vers", new LifecycleConfiguration([
            new LifecycleRule("keep-one", true, new LifecycleFilter("k"), NoncurrentDays: 1, NewerNoncurrentVersions: 1),
            new LifecycleRule("noncurrent", true, new LifecycleFilter("gone"), NoncurrentDays: 1),
            new LifecycleRule("markers", true, new LifecycleFilter(), ExpiredObjectDeleteMarker: true),
        ]));
        _t.Time.Advance(TimeSpan.FromDays(2));
        await RunAsync();

        // k: the current version and the newest noncurrent one remain; "gone": its only version went, then its marker.
        var versions = await VersionsAsync("vers");
        Assert.Equal(2, versions.Count(v => v.Name == "k" && !v.Marker));
        Assert.DoesNotContain(versions, v => v.Name == "gone");
        Assert.Equal(3, _audited.Count(a => a.Kind == LifecycleAction.DeleteNoncurrent));
        Assert.Contains(new LifecycleAction("vers", "noncurrent", LifecycleAction.DeleteNoncurrent, "gone", goneVersion), _audited);
        Assert.Single(_audited, a => a.Kind == LifecycleAction.RemoveDeleteMarker && a.Name == "gone");

        // Expiration by date hides the current version under a delete marker: nothing is lost in a versioned bucket.
        await _t.Store.PutLifecycleAsync("vers", new LifecycleConfiguration([
            new LifecycleRule("date", true, new LifecycleFilter(), ExpirationDate: new DateTimeOffset(_t.Time.GetUtcNow().Date, TimeSpan.Zero)),
        ]));
        await RunAsync();
        var after = await VersionsAsync("vers");
        Assert.True(after[0].Marker);
        Assert.Equal(3, after.Count);
    }

    [Fact]
    public async Task Locked_versions_are_counted_and_left_alone()
    {
        await _t.Store.CreateBucketAsync("locked", "tester", objectLock: true);
        var until = _t.Time.GetUtcNow().AddDays(30);
        await PutAsync("locked", "k", versionLock: new VersionLock(ObjectLockMode.Compliance, until, false));
        await PutAsync("locked", "k", versionLock: new VersionLock(null, null, true));
        await PutAsync("locked", "k");
        await _t.Store.PutLifecycleAsync("locked", new LifecycleConfiguration([
            new LifecycleRule("all", true, new LifecycleFilter(), NoncurrentDays: 1),
        ]));
        _t.Time.Advance(TimeSpan.FromDays(3));
        var (_, run) = Assert.Single(await RunAsync());

        Assert.Equal(3, (await VersionsAsync("locked")).Count);
        Assert.Equal(new LifecycleRuleRun("all", 0, 0, 0, 0, 2), Assert.Single(run.Rules));
        Assert.Empty(_audited);
    }

    [Fact]
    public async Task Incomplete_uploads_are_aborted_after_their_days_and_rules_with_tag_filters_touch_nothing_without_tags()
    {
        await _t.Store.CreateBucketAsync("upl", "tester");
        var old = await _t.Store.CreateUploadAsync("upl", "tmp/old", new ObjectMetadata(), "tester");
        await PutAsync("upl", "tagged");
        _t.Time.Advance(TimeSpan.FromDays(3));
        var fresh = await _t.Store.CreateUploadAsync("upl", "tmp/new", new ObjectMetadata(), "tester");
        await _t.Store.PutLifecycleAsync("upl", new LifecycleConfiguration([
            new LifecycleRule("abort", true, new LifecycleFilter("tmp/"), AbortIncompleteUploadDays: 2),
            new LifecycleRule("tags", true, new LifecycleFilter(Tags: [new("class", "tmp")]), ExpirationDays: 1),
        ]));
        await RunAsync();

        Assert.Equal([fresh.UploadId], (await _t.Store.ListUploadsAsync("upl", "")).Select(u => u.UploadId));
        Assert.Equal([new LifecycleAction("upl", "abort", LifecycleAction.AbortUpload, "tmp/old", old.UploadId)], _audited);
        Assert.Single(await VersionsAsync("upl"));
    }
}
