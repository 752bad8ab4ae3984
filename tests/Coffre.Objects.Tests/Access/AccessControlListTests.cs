using Coffre.Objects.Access;

namespace Coffre.Objects.Tests.Access;

/// <summary>S3's canned ACLs expanded as the API reference documents them, and what counts as public.</summary>
public sealed class AccessControlListTests
{
    [Theory]
    [InlineData("private", false, false)]
    [InlineData("public-read", true, false)]
    [InlineData("public-read-write", true, true)]
    [InlineData("authenticated-read", false, false)]
    [InlineData("bucket-owner-full-control", false, false)]
    [InlineData("log-delivery-write", false, false)]
    public void Canned_acls_grant_all_users_what_s3_documents(string name, bool read, bool write)
    {
        var acl = AccessControlList.Canned(name, "123456789012")!;
        Assert.Contains(new AclGrant(new AclGrantee(Id: "123456789012"), AclPermission.FullControl), acl.Grants);
        Assert.Equal(read, acl.AllowsAllUsers(AclPermission.Read));
        Assert.Equal(write, acl.AllowsAllUsers(AclPermission.Write));
        Assert.Equal(name is "public-read" or "public-read-write" or "authenticated-read", acl.IsPublic);
        var stored = AccessControlList.FromJson(acl.ToJson());
        Assert.Equal((acl.OwnerId, acl.Grants), (stored.OwnerId, stored.Grants), (a, b) => a.OwnerId == b.OwnerId && a.Grants.SequenceEqual(b.Grants));
    }

    [Fact]
    public void Every_documented_canned_acl_is_known_and_nothing_else()
    {
        Assert.All(AccessControlList.CannedNames, n => Assert.NotNull(AccessControlList.Canned(n, "1")));
        Assert.Null(AccessControlList.Canned("public", "1"));
    }

    [Fact]
    public void Full_control_for_all_users_allows_everything() =>
        Assert.True(new AccessControlList("o", [new AclGrant(new AclGrantee(Uri: AccessControlList.AllUsers), AclPermission.FullControl)]).AllowsAllUsers(AclPermission.WriteAcp));
}
