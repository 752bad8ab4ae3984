using Coffre.Objects.Versions;

namespace Coffre.Persistence.Tests.Objects;

/// <summary>Object ACLs, on every catalog: kept per version, refused for a missing version or a delete marker,
/// forgotten with their version, and never inherited by a new null version.</summary>
public abstract partial class ObjectCatalogContractTests
{
    [Fact]
    public async Task Object_acls_follow_their_version()
    {
        var (v1, v2) = (Record("doc") with { VersionId = NewVersionId() }, Record("doc") with { VersionId = NewVersionId() });
        await Catalog.CommitObjectAsync(v1);
        await Catalog.CommitObjectAsync(v2);
        Assert.Null(await Catalog.GetObjectAclAsync(Bucket, "doc", v1.VersionId));
        Assert.True(await Catalog.SetObjectAclAsync(Bucket, "doc", v1.VersionId, "{\"v\":1}"));
        Assert.True(await Catalog.SetObjectAclAsync(Bucket, "doc", v2.VersionId, "{\"v\":2}"));
        Assert.True(await Catalog.SetObjectAclAsync(Bucket, "doc", v2.VersionId, "{\"v\":3}"));
        Assert.Equal("{\"v\":1}", await Catalog.GetObjectAclAsync(Bucket, "doc", v1.VersionId));
        Assert.Equal("{\"v\":3}", await Catalog.GetObjectAclAsync(Bucket, "doc", v2.VersionId));
        Assert.False(await Catalog.SetObjectAclAsync(Bucket, "doc", "no-such-version", "{}"));
        Assert.False(await Catalog.SetObjectAclAsync(Bucket, "missing", v1.VersionId, "{}"));

        var marker = NewVersionId();
        await Catalog.CommitDeleteMarkerAsync(Bucket, "doc", marker, Time.GetUtcNow());
        Assert.False(await Catalog.SetObjectAclAsync(Bucket, "doc", marker, "{}"));

        // Deleting a version deletes its ACL: a version written again under the same id starts without one.
        Assert.NotNull(await Catalog.DeleteVersionAsync(Bucket, "doc", v1.VersionId));
        Assert.Null(await Catalog.GetObjectAclAsync(Bucket, "doc", v1.VersionId));
        await Catalog.CommitObjectAsync(v1);
        Assert.Null(await Catalog.GetObjectAclAsync(Bucket, "doc", v1.VersionId));
        Assert.Equal("{\"v\":3}", await Catalog.GetObjectAclAsync(Bucket, "doc", v2.VersionId));

        Assert.True(await Catalog.SetObjectAclAsync(Bucket, "doc", v2.VersionId, null));
        Assert.Null(await Catalog.GetObjectAclAsync(Bucket, "doc", v2.VersionId));
    }

    [Fact]
    public async Task A_new_null_version_does_not_inherit_the_acl_of_the_one_it_replaces()
    {
        var first = Record("plain") with { VersionId = VersionIds.Null };
        await Catalog.CommitObjectAsync(first);
        Assert.True(await Catalog.SetObjectAclAsync(Bucket, "plain", VersionIds.Null, "{\"public\":true}"));
        await Catalog.CommitObjectAsync(Record("plain", "second") with { VersionId = VersionIds.Null });
        Assert.Null(await Catalog.GetObjectAclAsync(Bucket, "plain", VersionIds.Null));
    }
}
