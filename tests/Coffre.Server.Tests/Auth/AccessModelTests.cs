using System.Net;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Kms.Access;
using Coffre.Server.Auth;
using Coffre.Server.Hosting;
using Microsoft.Extensions.Configuration;
using Coffre.Server.Tests.Gateway;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Auth;

/// <summary>
/// Least privilege by default, through the real gateway: configured access keys may do only what they are granted;
/// bucket reads and writes are separate grants, and KMS administration is separate from KMS use.
/// </summary>
public sealed class AccessModelTests(AccessModelTests.Fixture fixture) : IClassFixture<AccessModelTests.Fixture>
{
    public const string Bare = "AKIABAREKEY000000001";
    public const string Reader = "AKIAREADER0000000001";
    public const string Writer = "AKIAWRITER0000000001";
    public const string KmsUser = "AKIAKMSUSER000000001";
    public const string KmsAdmin = "AKIAKMSADMIN00000001";
    public const string Legacy = "AKIALEGACY0000000001";
    private const string Secret = "access-model-secret-00000000000000000001";

    public sealed class Fixture : IAsyncLifetime
    {
        public GatewayServer Gateway { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Gateway = await GatewayServer.StartAsync(configure: o => o.AccessKeys.AddRange(
            [
                new AccessKeyOptions { AccessKeyId = Bare, SecretAccessKey = Secret },
                new AccessKeyOptions { AccessKeyId = Reader, SecretAccessKey = Secret, ReadBuckets = ["shared"] },
                new AccessKeyOptions { AccessKeyId = Writer, SecretAccessKey = Secret, WriteBuckets = ["drop"] },
                new AccessKeyOptions { AccessKeyId = KmsUser, SecretAccessKey = Secret, KmsKeys = ["*"] },
                new AccessKeyOptions { AccessKeyId = KmsAdmin, SecretAccessKey = Secret, KmsAdminKeys = ["*"] },
                new AccessKeyOptions { AccessKeyId = Legacy, SecretAccessKey = Secret, Buckets = ["legacy"] },
            ]));
            using var root = Gateway.CreateClient();
            foreach (var bucket in new[] { "shared", "drop", "legacy" }) await root.PutBucketAsync(bucket);
            await root.PutBytesAsync("shared", "doc", "shared document"u8.ToArray());
        }

        public async Task DisposeAsync() => await Gateway.DisposeAsync();
    }

    private GatewayServer Gateway => fixture.Gateway;

    private AmazonS3Client S3(string accessKey) => Client(Gateway, c => c.MaxErrorRetry = 0, accessKey: accessKey, secretKey: Secret);

    private AmazonKeyManagementServiceClient Kms(string accessKey) =>
        new(new BasicAWSCredentials(accessKey, Secret), new AmazonKeyManagementServiceConfig
        {
            ServiceURL = Gateway.Endpoint, AuthenticationRegion = "us-east-1", UseHttp = true, MaxErrorRetry = 0,
        });

    private static async Task Denied(Func<Task> action)
    {
        var e = await Assert.ThrowsAnyAsync<AmazonS3Exception>(action);
        Assert.Equal(HttpStatusCode.Forbidden, e.StatusCode);
        Assert.Equal("AccessDenied", e.ErrorCode);
    }

    private static async Task KmsDenied(Func<Task> action)
    {
        var e = await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(action);
        Assert.Equal("AccessDeniedException", e.ErrorCode);
    }

    private string DefaultKeyId => Gateway.Keys.DescribeKey("default", "test").Id;

    [Fact]
    public async Task A_key_configured_with_only_an_id_and_a_secret_may_do_nothing_on_S3()
    {
        using var s3 = S3(Bare);
        await Denied(() => s3.ListBucketsAsync());
        await Denied(() => s3.GetObjectAsync("shared", "doc"));
        await Denied(() => s3.PutBytesAsync("shared", "doc", "overwritten"u8.ToArray()));
        await Denied(() => s3.DeleteObjectAsync("shared", "doc"));
        await Denied(() => s3.PutBucketAsync("bare-bucket"));
        using var root = Gateway.CreateClient();
        Assert.Equal("shared document"u8.ToArray(), await root.GetBytesAsync("shared", "doc"));
        Assert.DoesNotContain((await root.ListBucketsAsync()).Buckets ?? [], b => b.BucketName == "bare-bucket");
    }

    [Fact]
    public async Task A_key_configured_with_only_an_id_and_a_secret_cannot_disable_or_schedule_deletion_of_any_key()
    {
        using var kms = Kms(Bare);
        await KmsDenied(() => kms.DisableKeyAsync(new DisableKeyRequest { KeyId = DefaultKeyId }));
        await KmsDenied(() => kms.ScheduleKeyDeletionAsync(new ScheduleKeyDeletionRequest { KeyId = DefaultKeyId, PendingWindowInDays = 7 }));
        await KmsDenied(() => kms.EncryptAsync(new EncryptRequest { KeyId = DefaultKeyId, Plaintext = new MemoryStream([1, 2, 3]) }));
        await KmsDenied(() => kms.ListKeysAsync(new ListKeysRequest()));
        Assert.Equal(Coffre.Kms.Keys.KeyState.Enabled, Gateway.Keys.DescribeKey("default", "test").State);
        var refusals = Gateway.Keys.ReadAudit(new AuditFilter { Principal = Bare }, "test");
        Assert.Contains(refusals, r => r.Operation == "ScheduleKeyDeletion" && r.Result == "AccessDenied");
        Assert.Contains(refusals, r => r.Operation == "DisableKey" && r.Result == "AccessDenied");
    }

    [Fact]
    public async Task A_read_grant_reads_but_cannot_put_delete_or_start_uploads()
    {
        using var s3 = S3(Reader);
        Assert.Equal("shared document"u8.ToArray(), await s3.GetBytesAsync("shared", "doc"));
        Assert.Single((await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "shared" })).S3Objects);
        await Denied(() => s3.PutBytesAsync("shared", "doc", "overwritten"u8.ToArray()));
        await Denied(() => s3.DeleteObjectAsync("shared", "doc"));
        await Denied(() => s3.DeleteObjectsAsync(new DeleteObjectsRequest { BucketName = "shared", Objects = [new KeyVersion { Key = "doc" }] }));
        await Denied(() => s3.InitiateMultipartUploadAsync("shared", "big"));
        await Denied(() => s3.DeleteBucketAsync("shared"));
        using var root = Gateway.CreateClient();
        Assert.Equal("shared document"u8.ToArray(), await root.GetBytesAsync("shared", "doc"));
    }

    [Fact]
    public async Task A_write_grant_writes_but_cannot_read_back_nor_copy_from_a_bucket_it_may_not_read()
    {
        using var s3 = S3(Writer);
        await s3.PutBytesAsync("drop", "upload", "dropped"u8.ToArray());
        await Denied(() => s3.GetObjectAsync("drop", "upload"));
        await Denied(() => s3.CopyObjectAsync("shared", "doc", "drop", "stolen"));
        using var root = Gateway.CreateClient();
        Assert.Equal("dropped"u8.ToArray(), await root.GetBytesAsync("drop", "upload"));
        await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => root.GetObjectMetadataAsync("drop", "stolen"));
    }

    [Fact]
    public async Task ListBuckets_shows_only_the_buckets_a_key_may_read_or_write()
    {
        using var reader = S3(Reader);
        Assert.Equal(["shared"], (await reader.ListBucketsAsync()).Buckets.Select(b => b.BucketName));
        using var writer = S3(Writer);
        Assert.Equal(["drop"], (await writer.ListBucketsAsync()).Buckets.Select(b => b.BucketName));
    }

    [Fact]
    public async Task A_KMS_use_grant_encrypts_and_decrypts_but_cannot_disable_schedule_deletion_or_create_keys()
    {
        using var kms = Kms(KmsUser);
        var encrypted = await kms.EncryptAsync(new EncryptRequest { KeyId = "default", Plaintext = new MemoryStream([1, 2, 3]) });
        var decrypted = await kms.DecryptAsync(new DecryptRequest { CiphertextBlob = encrypted.CiphertextBlob });
        Assert.Equal([1, 2, 3], decrypted.Plaintext.ToArray());
        await KmsDenied(() => kms.DisableKeyAsync(new DisableKeyRequest { KeyId = DefaultKeyId }));
        await KmsDenied(() => kms.ScheduleKeyDeletionAsync(new ScheduleKeyDeletionRequest { KeyId = DefaultKeyId, PendingWindowInDays = 7 }));
        await KmsDenied(() => kms.CreateKeyAsync(new CreateKeyRequest()));
        await KmsDenied(() => kms.CreateAliasAsync(new CreateAliasRequest { AliasName = "alias/hijack", TargetKeyId = DefaultKeyId }));
        Assert.Equal(Coffre.Kms.Keys.KeyState.Enabled, Gateway.Keys.DescribeKey("default", "test").State);
        // And S3 is a grant of its own.
        using var s3 = S3(KmsUser);
        await Denied(() => s3.ListBucketsAsync());
    }

    [Fact]
    public async Task A_KMS_admin_grant_administers_keys_but_cannot_use_them()
    {
        using var kms = Kms(KmsAdmin);
        var created = await kms.CreateKeyAsync(new CreateKeyRequest { Description = "made by the KMS admin" });
        var id = created.KeyMetadata.KeyId;
        await kms.DisableKeyAsync(new DisableKeyRequest { KeyId = id });
        await kms.EnableKeyAsync(new EnableKeyRequest { KeyId = id });
        Assert.Equal("Enabled", (await kms.DescribeKeyAsync(new DescribeKeyRequest { KeyId = id })).KeyMetadata.KeyState.Value);
        await KmsDenied(() => kms.EncryptAsync(new EncryptRequest { KeyId = id, Plaintext = new MemoryStream([1]) }));
        await KmsDenied(() => kms.GenerateDataKeyAsync(new GenerateDataKeyRequest { KeyId = id, NumberOfBytes = 32 }));
    }

    [Fact]
    public async Task The_Buckets_setting_of_earlier_versions_still_means_read_and_write_on_those_buckets_only()
    {
        using var s3 = S3(Legacy);
        await s3.PutBytesAsync("legacy", "x", [7]);
        Assert.Equal([7], await s3.GetBytesAsync("legacy", "x"));
        await Denied(() => s3.GetObjectAsync("shared", "doc"));
        using var kms = Kms(Legacy);
        await KmsDenied(() => kms.DescribeKeyAsync(new DescribeKeyRequest { KeyId = "default" }));
    }

    [Fact]
    public void Grants_bound_from_configuration_are_exactly_what_it_says_and_nothing_for_a_bare_key()
    {
        const string k = "Coffre:AccessKeys:";
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [k + "0:AccessKeyId"] = "AKIABOUND", [k + "0:SecretAccessKey"] = Secret,
            [k + "0:ReadBuckets:0"] = "reports", [k + "0:KmsKeys:0"] = "alias/app", [k + "0:KmsOperations:0"] = "Encrypt",
            [k + "1:AccessKeyId"] = "AKIABARE", [k + "1:SecretAccessKey"] = Secret,
        }).Build();
        var options = CoffreConfiguration.Bind(configuration);
        var bound = options.AccessKeys[0].ToGrants();
        Assert.Equal(["reports"], bound.ReadBuckets);
        Assert.Empty(bound.WriteBuckets);
        Assert.Equal(["Encrypt"], bound.KmsOperations); // not appended to a default "*"
        Assert.Empty(bound.KmsAdminKeys);
        Assert.False(bound.Admin);
        Assert.Equal(AccessGrants.None, options.AccessKeys[1].ToGrants());
    }

    [Fact]
    public void Configuration_that_grants_administration_as_use_is_refused_with_every_problem_listed()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new AccessKeyDirectory(
        [
            new AccessKeyOptions { AccessKeyId = "AKIAONE", SecretAccessKey = Secret, KmsKeys = ["*"], KmsOperations = ["Encrypt", "ScheduleKeyDeletion"] },
            new AccessKeyOptions { AccessKeyId = "AKIATWO", SecretAccessKey = Secret, KmsKeys = ["*"], KmsOperations = ["kms:DisableKey", "NoSuchOperation"] },
            new AccessKeyOptions { AccessKeyId = "AKIATHREE", SecretAccessKey = Secret, ReadBuckets = [""] },
        ]));
        Assert.Contains("Coffre:AccessKeys:0 (AKIAONE): KmsOperations names 'ScheduleKeyDeletion', an administrative operation: grant it with KmsAdminKeys", e.Message);
        Assert.Contains("Coffre:AccessKeys:1 (AKIATWO): KmsOperations names 'DisableKey', an administrative operation", e.Message);
        Assert.Contains("Coffre:AccessKeys:1 (AKIATWO): KmsOperations names 'NoSuchOperation', which is not a KMS operation", e.Message);
        Assert.Contains("Coffre:AccessKeys:2 (AKIATHREE): ReadBuckets holds an empty name", e.Message);
        Assert.DoesNotContain(Secret, e.Message);
    }
}
