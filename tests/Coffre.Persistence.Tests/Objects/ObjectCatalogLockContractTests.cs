using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Objects.Lock;

namespace Coffre.Persistence.Tests.Objects;

/// <summary>Object Lock and bucket settings, on every catalog: a protected version refuses its deletion in the catalog's
/// own transaction, on the catalog's clock; a lock change is judged against the lock it replaces; bucket settings are
/// kept per bucket and go with it.</summary>
public abstract partial class ObjectCatalogContractTests
{
    [Fact]
    public async Task Bucket_settings_are_kept_per_bucket_listed_by_name_and_deleted_with_the_bucket()
    {
        Assert.Null(await Catalog.GetBucketSettingAsync(Bucket, "lifecycle"));
        Assert.True(await Catalog.SetBucketSettingAsync(Bucket, "lifecycle", "{\"a\":1}"));
        Assert.True(await Catalog.SetBucketSettingAsync(Bucket, "lifecycle", "{\"a\":2}"));
        Assert.True(await Catalog.SetBucketSettingAsync(Bucket, "object-lock", "{}"));
        Assert.False(await Catalog.SetBucketSettingAsync("missing", "lifecycle", "{}"));
        Assert.Equal("{\"a\":2}", await Catalog.GetBucketSettingAsync(Bucket, "lifecycle"));
        Assert.Equal([(Bucket, "{\"a\":2}")], await Catalog.ListBucketSettingsAsync("lifecycle"));

        Assert.True(await Catalog.SetBucketSettingAsync(Bucket, "lifecycle", null));
        Assert.Null(await Catalog.GetBucketSettingAsync(Bucket, "lifecycle"));
        Assert.Empty(await Catalog.ListBucketSettingsAsync("lifecycle"));

        Assert.True(await Catalog.TryDeleteEmptyBucketAsync(Bucket));
        Assert.True(await Catalog.TryCreateBucketAsync(new BucketRecord(Bucket, "key-a", Time.GetUtcNow())));
        Assert.Null(await Catalog.GetBucketSettingAsync(Bucket, "object-lock"));
    }

    [Fact]
    public async Task A_locked_version_refuses_deletion_until_its_lock_ends_and_its_lock_goes_with_it()
    {
        var until = Time.GetUtcNow().AddDays(2);
        var (governed, complied, held) = (Record("g") with { VersionId = NewVersionId() }, Record("c") with { VersionId = NewVersionId() },
            Record("h") with { VersionId = NewVersionId() });
        await Catalog.CommitObjectAsync(governed, versionLock: new VersionLock(ObjectLockMode.Governance, until, false));
        await Catalog.CommitObjectAsync(complied, versionLock: new VersionLock(ObjectLockMode.Compliance, until, false));
        await Catalog.CommitObjectAsync(held, versionLock: new VersionLock(null, null, true));
        Assert.Equal(new VersionLock(ObjectLockMode.Compliance, until, false), await Catalog.GetVersionLockAsync(Bucket, "c", complied.VersionId));

        foreach (var r in new[] { governed, complied, held })
        {
            var refused = await Assert.ThrowsAsync<ObjectStoreException>(() => Catalog.DeleteVersionAsync(Bucket, r.Name, r.VersionId));
            Assert.Equal(ObjectError.ObjectLocked, refused.Error);
            Assert.NotNull(await Catalog.GetVersionAsync(Bucket, r.Name, r.VersionId));
        }
        // The governance bypass lifts governance retention only.
        Assert.Equal(ObjectError.ObjectLocked, (await Assert.ThrowsAsync<ObjectStoreException>(() =>
            Catalog.DeleteVersionAsync(Bucket, "c", complied.VersionId, bypassGovernance: true))).Error);
        Assert.Equal(ObjectError.ObjectLocked, (await Assert.ThrowsAsync<ObjectStoreException>(() =>
            Catalog.DeleteVersionAsync(Bucket, "h", held.VersionId, bypassGovernance: true))).Error);
        Assert.NotNull(await Catalog.DeleteVersionAsync(Bucket, "g", governed.VersionId, bypassGovernance: true));
        Assert.Null(await Catalog.GetVersionLockAsync(Bucket, "g", governed.VersionId));

        // Key queries see what is protected now, on the catalog's clock.
        Assert.Equal(["c", "h"], (await Catalog.LockedVersionsUnderKeyAsync("key-a", Time.GetUtcNow(), 10)).Select(v => v.Name));
        Assert.Empty(await Catalog.LockedVersionsUnderKeyAsync("key-b", Time.GetUtcNow(), 10));
        Time.Advance(TimeSpan.FromDays(3));
        Assert.Equal(["h"], (await Catalog.LockedVersionsUnderKeyAsync("key-a", Time.GetUtcNow(), 10)).Select(v => v.Name));
        Assert.NotNull(await Catalog.DeleteVersionAsync(Bucket, "c", complied.VersionId));
        Assert.Null(await Catalog.GetVersionLockAsync(Bucket, "c", complied.VersionId));
        Assert.Equal(ObjectError.ObjectLocked, (await Assert.ThrowsAsync<ObjectStoreException>(() => Catalog.DeleteVersionAsync(Bucket, "h", held.VersionId))).Error);
    }

    [Fact]
    public async Task A_lock_change_sees_the_current_lock_and_a_refused_change_leaves_it_whole()
    {
        var record = Record("k") with { VersionId = NewVersionId() };
        await Catalog.CommitObjectAsync(record);
        Assert.Null(await Catalog.GetVersionLockAsync(Bucket, "k", record.VersionId));
        var hold = new VersionLock(null, null, true);
        Assert.Equal(hold, await Catalog.UpdateVersionLockAsync(Bucket, "k", record.VersionId, current => (current ?? VersionLock.None) with { LegalHold = true }));
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Catalog.UpdateVersionLockAsync(Bucket, "k", record.VersionId, current => current == hold ? throw new InvalidOperationException() : VersionLock.None));
        Assert.Equal(hold, await Catalog.GetVersionLockAsync(Bucket, "k", record.VersionId));

        // Removing everything removes the lock; no version (or a delete marker): nothing to change.
        Assert.Equal(VersionLock.None, await Catalog.UpdateVersionLockAsync(Bucket, "k", record.VersionId, _ => VersionLock.None));
        Assert.Null(await Catalog.GetVersionLockAsync(Bucket, "k", record.VersionId));
        Assert.Null(await Catalog.UpdateVersionLockAsync(Bucket, "k", NewVersionId(), _ => hold));
        var marker = NewVersionId();
        await Catalog.CommitDeleteMarkerAsync(Bucket, "k", marker, Time.GetUtcNow());
        Assert.Null(await Catalog.UpdateVersionLockAsync(Bucket, "k", marker, _ => hold));
    }
}
