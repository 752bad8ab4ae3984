using Coffre.Objects.Lock;
using Coffre.Objects.Manifests;
using Coffre.Objects.Tagging;
using Coffre.Sqlite.Objects;

namespace Coffre.Objects.Tests;

/// <summary>
/// A version's manifest (docs/format.md §12) follows the changes made to it after it was written: tags set and
/// removed, retention and legal hold. The catalog is then lost; a new one rebuilt from the blobs alone holds the tags
/// and the lock a client was last told of, not those the version was written with.
/// </summary>
public sealed class ManifestRefreshTests : IDisposable
{
    private readonly TestStore _t = new();

    public void Dispose() => _t.Dispose();

    [Fact]
    public async Task Tags_retention_and_legal_hold_changed_after_the_write_are_recovered()
    {
        await _t.Store.CreateBucketAsync("vault", "tester", objectLock: true);
        var tagged = await _t.Store.PutObjectAsync(new PutObjectCommand("vault", "tagged", new MemoryStream(new byte[10]), 10, new ObjectMetadata(), "tester"));
        var untagged = await _t.Store.PutObjectAsync(new PutObjectCommand("vault", "untagged", new MemoryStream(new byte[10]), 10,
            new ObjectMetadata { Tags = [new ObjectTag("written", "with")] }, "tester"));
        await _t.Store.SetTagsAsync(tagged, [new ObjectTag("project", "apollo")], "tester");
        await _t.Store.SetTagsAsync((await _t.Store.GetRecordAsync("vault", "tagged"))!, [new ObjectTag("project", "gemini"), new ObjectTag("class", "secret")], "tester");
        await _t.Store.SetTagsAsync(untagged, null, "tester");
        var until = _t.Time.GetUtcNow().AddDays(30);
        await _t.Store.PutRetentionAsync("vault", "tagged", null, ObjectLockMode.Governance, until, bypassGovernance: false, "tester");
        await _t.Store.PutLegalHoldAsync("vault", "untagged", null, true, "tester");

        // The catalog is lost: a new, empty one is rebuilt from the same blobs.
        await using var rebuilt = SqliteObjectCatalog.Open(Path.Combine(_t.Directory, "rebuilt.db"), _t.Time);
        var report = await new CatalogRecovery(rebuilt, _t.Blobs, _t.Keys).RunAsync(null, "tester");
        Assert.Empty(report.Unmatched);
        var store = new ObjectStore(rebuilt, _t.Blobs, _t.Keys, _t.Options, _t.Time);

        var tags = (await store.ReadMetadataAsync(await store.GetRecordAsync("vault", "tagged"), "tester")).Tags;
        Assert.Equal([new ObjectTag("project", "gemini"), new ObjectTag("class", "secret")], tags);
        Assert.Null((await store.ReadMetadataAsync(await store.GetRecordAsync("vault", "untagged"), "tester")).Tags);
        Assert.Equal(new VersionLock(ObjectLockMode.Governance, until, false), await rebuilt.GetVersionLockAsync("vault", "tagged", tagged.VersionId));
        Assert.Equal(new VersionLock(null, null, true), await rebuilt.GetVersionLockAsync("vault", "untagged", untagged.VersionId));
    }
}
