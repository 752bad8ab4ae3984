using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Objects.Keys;
using Coffre.Objects.Tagging;

namespace Coffre.Persistence.Tests.Objects;

/// <summary>Storage classes per version and per upload, an object version's sealed metadata replaced only over what
/// the writer read (tagging), and bucket tags — on every catalog.</summary>
public abstract partial class ObjectCatalogContractTests
{
    [Fact]
    public async Task Each_version_and_upload_keeps_its_storage_class_and_listings_show_it()
    {
        var cold = Record("cold") with { VersionId = NewVersionId(), StorageClass = "GLACIER" };
        await Catalog.CommitObjectAsync(cold);
        Time.Advance(TimeSpan.FromSeconds(1));
        var warm = Record("cold", "e2") with { VersionId = NewVersionId(), StorageClass = "STANDARD_IA" };
        await Catalog.CommitObjectAsync(warm);
        await PutAsync("plain");

        AssertSame(warm, (await Catalog.GetVersionAsync(Bucket, "cold", null))!.Record);
        AssertSame(cold, (await Catalog.GetVersionAsync(Bucket, "cold", cold.VersionId))!.Record);
        Assert.Equal(StorageClasses.Standard, (await Catalog.GetObjectAsync(Bucket, "plain"))!.StorageClass);
        Assert.Equal([("cold", "STANDARD_IA"), ("plain", "STANDARD")],
            (await Catalog.ListObjectsAsync(Bucket, "", null, null, 10)).Entries.Select(e => (e.Record!.Name, e.Record.StorageClass)));
        Assert.Equal(["STANDARD_IA", "GLACIER", "STANDARD"],
            (await Catalog.ListVersionsAsync(Bucket, "", null, null, null, 10)).Entries.Select(e => e.Version!.Record!.StorageClass));

        await Catalog.CreateUploadAsync(new UploadRecord("u-deep", Bucket, "deep", Time.GetUtcNow(), new WrappedKeyRef("key-a", 1, [1]), [2]) { StorageClass = "DEEP_ARCHIVE" });
        await Catalog.CreateUploadAsync(new UploadRecord("u-std", Bucket, "std", Time.GetUtcNow(), new WrappedKeyRef("key-a", 1, [1]), [2]));
        Assert.Equal("DEEP_ARCHIVE", (await Catalog.GetUploadAsync("u-deep"))!.StorageClass);
        Assert.Equal([("deep", "DEEP_ARCHIVE"), ("std", "STANDARD")], (await Catalog.ListUploadsAsync(Bucket, "")).Select(u => (u.Name, u.StorageClass)));
    }

    [Fact]
    public async Task Sealed_metadata_is_replaced_only_over_what_the_writer_read_and_in_that_version_alone()
    {
        var v1 = Record("t", "e1") with { VersionId = NewVersionId() };
        await Catalog.CommitObjectAsync(v1);
        var v2 = Record("t", "e2") with { VersionId = NewVersionId(), SealedMetadata = [5, 5, 5] };
        await Catalog.CommitObjectAsync(v2);

        Assert.True(await Catalog.ReplaceSealedMetadataAsync(Bucket, "t", v1.VersionId, v1.SealedMetadata, [1, 2, 3, 4]));
        Assert.Equal([1, 2, 3, 4], (await Catalog.GetVersionAsync(Bucket, "t", v1.VersionId))!.Record!.SealedMetadata);
        AssertSame(v2, (await Catalog.GetVersionAsync(Bucket, "t", v2.VersionId))!.Record);
        // A second writer that read the old metadata loses: its tags would undo the first writer's.
        Assert.False(await Catalog.ReplaceSealedMetadataAsync(Bucket, "t", v1.VersionId, v1.SealedMetadata, [6]));
        Assert.Equal([1, 2, 3, 4], (await Catalog.GetVersionAsync(Bucket, "t", v1.VersionId))!.Record!.SealedMetadata);
        // A version deleted meanwhile, or one that never was, is left alone.
        await Catalog.DeleteVersionAsync(Bucket, "t", v2.VersionId);
        Assert.False(await Catalog.ReplaceSealedMetadataAsync(Bucket, "t", v2.VersionId, v2.SealedMetadata, [7]));
        Assert.False(await Catalog.ReplaceSealedMetadataAsync(Bucket, "absent", v1.VersionId, v1.SealedMetadata, [7]));
        Assert.Null(await Catalog.GetVersionAsync(Bucket, "t", v2.VersionId));
    }

    [Fact]
    public async Task A_bucket_keeps_its_tags_in_order_until_removed_or_the_bucket_is_deleted()
    {
        Assert.Null(await Catalog.GetBucketTagsAsync(Bucket));
        ObjectTag[] tags = [new("project", "zeta"), new("cost center", "42 + été")];
        await Catalog.SetBucketTagsAsync(Bucket, tags);
        Assert.Equal(tags, await Catalog.GetBucketTagsAsync(Bucket));
        await Catalog.SetBucketTagsAsync(Bucket, [new("only", "")]);
        Assert.Equal([new ObjectTag("only", "")], await Catalog.GetBucketTagsAsync(Bucket));
        await Catalog.SetBucketTagsAsync(Bucket, null);
        Assert.Null(await Catalog.GetBucketTagsAsync(Bucket));

        Assert.True(await Catalog.TryCreateBucketAsync(new BucketRecord("tagged", "key-a", Time.GetUtcNow())));
        await Catalog.SetBucketTagsAsync("tagged", tags);
        Assert.True(await Catalog.TryDeleteEmptyBucketAsync("tagged"));
        Assert.True(await Catalog.TryCreateBucketAsync(new BucketRecord("tagged", "key-a", Time.GetUtcNow())));
        Assert.Null(await Catalog.GetBucketTagsAsync("tagged"));
    }
}
