using System.Net;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.Kms;
using Coffre.Kms.Keys;
using Coffre.Server.Auth;
using Coffre.TestSupport;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// S3 Object Lock through AWSSDK.S3 against the in-process gateway, on local disk and over moto: a locked version
/// survives DeleteObject, DeleteObjects, a bucket deletion attempt and key destruction; GOVERNANCE yields only to a key
/// granted the bypass; COMPLIANCE is never shortened.
/// </summary>
public sealed class ObjectLockSdkTests
{
    private const string BypassKey = "AKIABYPASSGOVERNANCE", BypassSecret = "bypass-secret-for-tests-only-0123456789";

    private static Task<GatewayServer> StartAsync(ExternalServer? backend = null) => GatewayServer.StartAsync(backend, o => o.AccessKeys.Add(new AccessKeyOptions
    {
        AccessKeyId = BypassKey, SecretAccessKey = BypassSecret, Buckets = ["*"], BypassGovernanceBuckets = ["locked"],
    }));

    [Fact]
    public async Task Locked_versions_survive_every_delete_over_local_disk()
    {
        await using var gateway = await StartAsync();
        await ScenarioAsync(gateway);
    }

    [Fact]
    public async Task Locked_versions_survive_every_delete_over_moto()
    {
        using var moto = new MotoServer();
        await moto.StartAsync();
        await using var gateway = await StartAsync(moto);
        await ScenarioAsync(gateway);
    }

    private static async Task ScenarioAsync(GatewayServer gateway)
    {
        using var s3 = gateway.CreateClient();
        using var bypasser = gateway.CreateClient(BypassKey, BypassSecret);
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = "locked", ObjectLockEnabledForBucket = true });
        var config = await s3.GetObjectLockConfigurationAsync(new GetObjectLockConfigurationRequest { BucketName = "locked" });
        Assert.Equal(ObjectLockEnabled.Enabled, config.ObjectLockConfiguration.ObjectLockEnabled);
        Assert.Equal(VersionStatus.Enabled, (await s3.GetBucketVersioningAsync(new GetBucketVersioningRequest { BucketName = "locked" })).VersioningConfig.Status);
        var suspend = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.PutBucketVersioningAsync(new PutBucketVersioningRequest
        {
            BucketName = "locked", VersioningConfig = new S3BucketVersioningConfig { Status = VersionStatus.Suspended },
        }));
        Assert.Equal(("InvalidBucketState", HttpStatusCode.Conflict), (suspend.ErrorCode, suspend.StatusCode));

        // Default retention: GOVERNANCE for one day, given to a version written without lock headers.
        await s3.PutObjectLockConfigurationAsync(new PutObjectLockConfigurationRequest
        {
            BucketName = "locked",
            ObjectLockConfiguration = new ObjectLockConfiguration
            {
                ObjectLockEnabled = ObjectLockEnabled.Enabled,
                Rule = new ObjectLockRule { DefaultRetention = new DefaultRetention { Mode = ObjectLockRetentionMode.Governance, Days = 1 } },
            },
        });
        var governed = (await s3.PutObjectAsync(new PutObjectRequest { BucketName = "locked", Key = "governed", ContentBody = "g" })).VersionId;
        var retention = (await s3.GetObjectRetentionAsync(new GetObjectRetentionRequest { BucketName = "locked", Key = "governed", VersionId = governed })).Retention;
        Assert.Equal(ObjectLockRetentionMode.Governance, retention.Mode);
        Assert.InRange(retention.RetainUntilDate!.Value, DateTime.UtcNow.AddHours(23), DateTime.UtcNow.AddHours(25));

        // COMPLIANCE and a legal hold asked on PUT; HEAD answers them.
        var until = DateTime.UtcNow.AddDays(2);
        var complied = (await s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = "locked", Key = "complied", ContentBody = "c", ObjectLockMode = ObjectLockMode.Compliance, ObjectLockRetainUntilDate = until,
            ObjectLockLegalHoldStatus = ObjectLockLegalHoldStatus.On,
        })).VersionId;
        var head = await s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = "locked", Key = "complied" });
        Assert.Equal((ObjectLockMode.Compliance, ObjectLockLegalHoldStatus.On), (head.ObjectLockMode, head.ObjectLockLegalHoldStatus));
        Assert.Equal(until, head.ObjectLockRetainUntilDate!.Value.ToUniversalTime(), TimeSpan.FromSeconds(1));

        // Deleting a locked version by id: refused, by DeleteObject and DeleteObjects alike, bypass or not.
        foreach (var (key, version) in new[] { ("governed", governed), ("complied", complied) })
        {
            var refused = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = "locked", Key = key, VersionId = version }));
            Assert.Equal(("AccessDenied", HttpStatusCode.Forbidden), (refused.ErrorCode, refused.StatusCode));
        }
        var batch = await Assert.ThrowsAsync<DeleteObjectsException>(() => bypasser.DeleteObjectsAsync(new DeleteObjectsRequest
        {
            BucketName = "locked", BypassGovernanceRetention = true, Objects = [new KeyVersion { Key = "complied", VersionId = complied }],
        }));
        Assert.Equal("AccessDenied", Assert.Single(batch.Response.DeleteErrors).Code);
        // A key without the bypass grant asking for it is refused; a plain DELETE adds a delete marker, as S3 does.
        var notGranted = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.DeleteObjectAsync(new DeleteObjectRequest
        {
            BucketName = "locked", Key = "governed", VersionId = governed, BypassGovernanceRetention = true,
        }));
        Assert.Equal(HttpStatusCode.Forbidden, notGranted.StatusCode);
        var marker = await s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = "locked", Key = "complied" });
        Assert.Equal("true", marker.DeleteMarker);

        // COMPLIANCE is never shortened; extending is allowed; the legal hold stays until removed.
        var shorten = await Assert.ThrowsAsync<AmazonS3Exception>(() => bypasser.PutObjectRetentionAsync(new PutObjectRetentionRequest
        {
            BucketName = "locked", Key = "complied", VersionId = complied, BypassGovernanceRetention = true,
            Retention = new ObjectLockRetention { Mode = ObjectLockRetentionMode.Compliance, RetainUntilDate = DateTime.UtcNow.AddDays(1) },
        }));
        Assert.Equal(HttpStatusCode.Forbidden, shorten.StatusCode);
        await s3.PutObjectRetentionAsync(new PutObjectRetentionRequest
        {
            BucketName = "locked", Key = "complied", VersionId = complied,
            Retention = new ObjectLockRetention { Mode = ObjectLockRetentionMode.Compliance, RetainUntilDate = until.AddDays(1) },
        });
        Assert.Equal(ObjectLockLegalHoldStatus.On, (await s3.GetObjectLegalHoldAsync(new GetObjectLegalHoldRequest
        {
            BucketName = "locked", Key = "complied", VersionId = complied,
        })).LegalHold.Status);

        // The bucket cannot be deleted, nor the key destroyed, while locked versions exist.
        var bucketDelete = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.DeleteBucketAsync("locked"));
        Assert.Equal("BucketNotEmpty", bucketDelete.ErrorCode);
        var destroy = await Assert.ThrowsAsync<KmsException>(() => gateway.Keys.ScheduleDestructionAsync("default", TimeSpan.FromDays(7), KeyManager.SystemPrincipal));
        Assert.Equal(KmsError.DestructionRefused, destroy.Error);
        Assert.Contains("locked/complied version " + complied, destroy.Message);
        Assert.Equal(KeyState.Enabled, gateway.Keys.DescribeKey("default", KeyManager.SystemPrincipal).State);

        // The governance bypass, granted and asked, lifts GOVERNANCE: the version goes.
        await bypasser.DeleteObjectAsync(new DeleteObjectRequest { BucketName = "locked", Key = "governed", VersionId = governed, BypassGovernanceRetention = true });
        var versions = (await s3.ListVersionsAsync(new ListVersionsRequest { BucketName = "locked" })).Versions;
        Assert.DoesNotContain(versions, v => v.VersionId == governed);
        Assert.Equal("c", (await ReadVersionAsync(s3, "locked", "complied", complied)).Utf8());
    }

    private static async Task<byte[]> ReadVersionAsync(IAmazonS3 s3, string bucket, string key, string versionId)
    {
        using var response = await s3.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = key, VersionId = versionId });
        return await ReadAllAsync(response.ResponseStream);
    }

    [Fact]
    public async Task Object_lock_requests_on_a_bucket_without_it_and_lock_headers_without_a_checksum_are_refused()
    {
        await using var gateway = await StartAsync();
        using var s3 = gateway.CreateClient();
        await s3.PutBucketAsync("plain");
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "plain", Key = "k", ContentBody = "x" });
        var missing = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.GetObjectLockConfigurationAsync(new GetObjectLockConfigurationRequest { BucketName = "plain" }));
        Assert.Equal(("ObjectLockConfigurationNotFoundError", HttpStatusCode.NotFound), (missing.ErrorCode, missing.StatusCode));
        var retention = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.PutObjectRetentionAsync(new PutObjectRetentionRequest
        {
            BucketName = "plain", Key = "k",
            Retention = new ObjectLockRetention { Mode = ObjectLockRetentionMode.Governance, RetainUntilDate = DateTime.UtcNow.AddDays(1) },
        }));
        Assert.Equal(("InvalidRequest", HttpStatusCode.BadRequest), (retention.ErrorCode, retention.StatusCode));

        await s3.PutBucketAsync(new PutBucketRequest { BucketName = "locked", ObjectLockEnabledForBucket = true });
        using var noChecksum = await SendSignedAsync(gateway, HttpMethod.Put, "/locked/k", "body"u8.ToArray(),
            [("x-amz-object-lock-mode", "GOVERNANCE"), ("x-amz-object-lock-retain-until-date", DateTime.UtcNow.AddDays(1).ToString("o"))]);
        Assert.Equal(HttpStatusCode.BadRequest, noChecksum.StatusCode);
        Assert.Equal("InvalidRequest", await ErrorCodeAsync(noChecksum));
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "locked", Key = "k", ContentBody = "unlocked" });
        var none = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.GetObjectRetentionAsync(new GetObjectRetentionRequest { BucketName = "locked", Key = "k" }));
        Assert.Equal(("NoSuchObjectLockConfiguration", HttpStatusCode.NotFound), (none.ErrorCode, none.StatusCode));
    }
}
