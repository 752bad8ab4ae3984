using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Amazon.Runtime;
using Coffre.Kms.Audit;
using Coffre.Server.Auth;
using Coffre.Server.Tests.Gateway;

namespace Coffre.Server.Tests.Kms;

/// <summary>AWSSDK.KeyManagementService 4.1 in-process against a real gateway on loopback.</summary>
public sealed class KmsSdkTests : IAsyncLifetime
{
    public const string AppAccessKey = "AKIACOFFREAPP0000001";
    public const string AppSecret = "coffre-app-secret-0000000000000000001";
    public const string AppAlias = "alias/app";

    private GatewayServer _gateway = null!;
    private AmazonKeyManagementServiceClient _kms = null!;

    public async Task InitializeAsync()
    {
        _gateway = await GatewayServer.StartAsync(configure: o => o.AccessKeys.Add(new AccessKeyOptions
        {
            AccessKeyId = AppAccessKey,
            SecretAccessKey = AppSecret,
            Buckets = [],
            KmsKeys = [AppAlias],
            KmsOperations = ["Encrypt", "GenerateDataKey", "kms:DescribeKey"],
        }));
        _kms = Client(GatewayServer.AccessKey, GatewayServer.SecretKey);
    }

    public async Task DisposeAsync()
    {
        _kms.Dispose();
        await _gateway.DisposeAsync();
    }

    private AmazonKeyManagementServiceClient Client(string accessKey, string secret) =>
        new(new BasicAWSCredentials(accessKey, secret), new AmazonKeyManagementServiceConfig
        {
            ServiceURL = _gateway.Endpoint,
            AuthenticationRegion = "us-east-1",
            UseHttp = true,
            MaxErrorRetry = 0,
        });

    private static async Task AssertCode(string code, Func<Task> call)
    {
        var e = await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(call);
        Assert.Equal(code, e.ErrorCode);
    }

    private static Dictionary<string, string> Context(string purpose) => new() { ["purpose"] = purpose, ["tenant"] = "t1" };

    private async Task<string> NewKey(string description = "test")
    {
        var created = await _kms.CreateKeyAsync(new CreateKeyRequest { Description = description });
        return created.KeyMetadata.KeyId;
    }

    [Fact]
    public async Task Create_key_alias_describe_and_list()
    {
        var created = await _kms.CreateKeyAsync(new CreateKeyRequest { Description = "sdk key", Tags = [new Tag { TagKey = "team", TagValue = "blue" }] });
        var meta = created.KeyMetadata;
        Assert.True(Guid.TryParse(meta.KeyId, out _));
        Assert.Equal($"arn:aws:kms:us-east-1:000000000000:key/{meta.KeyId}", meta.Arn);
        Assert.Equal(KeyState.Enabled, meta.KeyState);
        Assert.True(meta.Enabled);
        Assert.Equal("sdk key", meta.Description);
        Assert.Equal(KeySpec.SYMMETRIC_DEFAULT, meta.KeySpec);
        Assert.Equal(KeyUsageType.ENCRYPT_DECRYPT, meta.KeyUsage);
        Assert.True(meta.CreationDate > DateTime.UtcNow.AddMinutes(-5));

        await _kms.CreateAliasAsync(new CreateAliasRequest { AliasName = "alias/sdk-test", TargetKeyId = meta.KeyId });
        var byAlias = await _kms.DescribeKeyAsync(new DescribeKeyRequest { KeyId = "alias/sdk-test" });
        Assert.Equal(meta.KeyId, byAlias.KeyMetadata.KeyId);
        var byAliasArn = await _kms.DescribeKeyAsync(new DescribeKeyRequest { KeyId = "arn:aws:kms:us-east-1:000000000000:alias/sdk-test" });
        Assert.Equal(meta.KeyId, byAliasArn.KeyMetadata.KeyId);
        var byArn = await _kms.DescribeKeyAsync(new DescribeKeyRequest { KeyId = meta.Arn });
        Assert.Equal(meta.KeyId, byArn.KeyMetadata.KeyId);

        var keys = await _kms.ListKeysAsync(new ListKeysRequest());
        Assert.Contains(keys.Keys, k => k.KeyId == meta.KeyId && k.KeyArn == meta.Arn);
        var aliases = await _kms.ListAliasesAsync(new ListAliasesRequest { KeyId = meta.KeyId });
        Assert.Equal("alias/sdk-test", Assert.Single(aliases.Aliases).AliasName);

        var other = await NewKey();
        await _kms.UpdateAliasAsync(new UpdateAliasRequest { AliasName = "alias/sdk-test", TargetKeyId = other });
        Assert.Equal(other, (await _kms.DescribeKeyAsync(new DescribeKeyRequest { KeyId = "alias/sdk-test" })).KeyMetadata.KeyId);
        await _kms.DeleteAliasAsync(new DeleteAliasRequest { AliasName = "alias/sdk-test" });
        await Assert.ThrowsAsync<NotFoundException>(() => _kms.DescribeKeyAsync(new DescribeKeyRequest { KeyId = "alias/sdk-test" }));
        await Assert.ThrowsAsync<AlreadyExistsException>(async () =>
        {
            await _kms.CreateAliasAsync(new CreateAliasRequest { AliasName = "alias/dup", TargetKeyId = other });
            await _kms.CreateAliasAsync(new CreateAliasRequest { AliasName = "alias/dup", TargetKeyId = other });
        });
        await Assert.ThrowsAsync<NotFoundException>(() => _kms.DescribeKeyAsync(new DescribeKeyRequest { KeyId = Guid.NewGuid().ToString() }));

        var tags = await _kms.ListResourceTagsAsync(new ListResourceTagsRequest { KeyId = meta.KeyId });
        Assert.Equal("blue", Assert.Single(tags.Tags).TagValue);
        await _kms.TagResourceAsync(new TagResourceRequest { KeyId = meta.KeyId, Tags = [new Tag { TagKey = "env", TagValue = "prod" }] });
        await _kms.UntagResourceAsync(new UntagResourceRequest { KeyId = meta.KeyId, TagKeys = ["team"] });
        tags = await _kms.ListResourceTagsAsync(new ListResourceTagsRequest { KeyId = meta.KeyId });
        Assert.Equal("env=prod", string.Join(",", tags.Tags.Select(t => $"{t.TagKey}={t.TagValue}")));
    }

    [Fact]
    public async Task Encrypt_decrypt_round_trip_with_context_and_without_key_id()
    {
        var keyId = await NewKey();
        var plaintext = Encoding.UTF8.GetBytes("the launch codes");
        var encrypted = await _kms.EncryptAsync(new EncryptRequest
        {
            KeyId = keyId, Plaintext = new MemoryStream(plaintext), EncryptionContext = Context("db-password"),
        });
        Assert.EndsWith(keyId, encrypted.KeyId);
        Assert.Equal(EncryptionAlgorithmSpec.SYMMETRIC_DEFAULT, encrypted.EncryptionAlgorithm);
        var decrypted = await _kms.DecryptAsync(new DecryptRequest
        {
            CiphertextBlob = new MemoryStream(encrypted.CiphertextBlob.ToArray()),
            EncryptionContext = new Dictionary<string, string> { ["tenant"] = "t1", ["purpose"] = "db-password" }, // any order
        });
        Assert.Equal(plaintext, decrypted.Plaintext.ToArray());
        Assert.Equal(encrypted.KeyId, decrypted.KeyId);

        // With the KeyId named, as ARN.
        decrypted = await _kms.DecryptAsync(new DecryptRequest
        {
            CiphertextBlob = new MemoryStream(encrypted.CiphertextBlob.ToArray()), KeyId = encrypted.KeyId, EncryptionContext = Context("db-password"),
        });
        Assert.Equal(plaintext, decrypted.Plaintext.ToArray());

        // ReEncrypt to another key, then decrypt under the new context.
        var other = await NewKey();
        var re = await _kms.ReEncryptAsync(new ReEncryptRequest
        {
            CiphertextBlob = new MemoryStream(encrypted.CiphertextBlob.ToArray()), SourceEncryptionContext = Context("db-password"),
            DestinationKeyId = other, DestinationEncryptionContext = Context("moved"),
        });
        Assert.EndsWith(keyId, re.SourceKeyId);
        Assert.EndsWith(other, re.KeyId);
        var back = await _kms.DecryptAsync(new DecryptRequest { CiphertextBlob = new MemoryStream(re.CiphertextBlob.ToArray()), EncryptionContext = Context("moved") });
        Assert.Equal(plaintext, back.Plaintext.ToArray());
    }

    [Fact]
    public async Task Wrong_context_tampered_blob_and_wrong_key_are_refused()
    {
        var keyId = await NewKey();
        var blob = (await _kms.EncryptAsync(new EncryptRequest
        {
            KeyId = keyId, Plaintext = new MemoryStream([1, 2, 3]), EncryptionContext = Context("a"),
        })).CiphertextBlob.ToArray();

        await Assert.ThrowsAsync<InvalidCiphertextException>(() => _kms.DecryptAsync(new DecryptRequest
        {
            CiphertextBlob = new MemoryStream(blob), EncryptionContext = Context("b"),
        }));
        await Assert.ThrowsAsync<InvalidCiphertextException>(() => _kms.DecryptAsync(new DecryptRequest { CiphertextBlob = new MemoryStream(blob) }));
        var tampered = (byte[])blob.Clone();
        tampered[^20] ^= 0x01;
        await Assert.ThrowsAsync<InvalidCiphertextException>(() => _kms.DecryptAsync(new DecryptRequest
        {
            CiphertextBlob = new MemoryStream(tampered), EncryptionContext = Context("a"),
        }));
        await Assert.ThrowsAsync<InvalidCiphertextException>(() => _kms.DecryptAsync(new DecryptRequest
        {
            CiphertextBlob = new MemoryStream(RandomNumberGenerator.GetBytes(80)),
        }));
        var other = await NewKey();
        await Assert.ThrowsAsync<IncorrectKeyException>(() => _kms.DecryptAsync(new DecryptRequest
        {
            CiphertextBlob = new MemoryStream(blob), EncryptionContext = Context("a"), KeyId = other,
        }));
        var audit = _gateway.Keys.ReadAudit(new AuditFilter { Operation = "Decrypt", Key = keyId }, "test");
        Assert.Contains(audit, a => a.Result == "InvalidCiphertext");
        Assert.Contains(audit, a => a.Result == "IncorrectKey");
    }

    [Fact]
    public async Task Generate_data_key_decrypts_to_the_same_plaintext()
    {
        var keyId = await NewKey();
        var dk = await _kms.GenerateDataKeyAsync(new GenerateDataKeyRequest { KeyId = keyId, KeySpec = DataKeySpec.AES_256, EncryptionContext = Context("file") });
        Assert.Equal(32, dk.Plaintext.Length);
        var back = await _kms.DecryptAsync(new DecryptRequest { CiphertextBlob = new MemoryStream(dk.CiphertextBlob.ToArray()), EncryptionContext = Context("file") });
        Assert.Equal(dk.Plaintext.ToArray(), back.Plaintext.ToArray());

        var dk16 = await _kms.GenerateDataKeyAsync(new GenerateDataKeyRequest { KeyId = keyId, NumberOfBytes = 16 });
        Assert.Equal(16, dk16.Plaintext.Length);
        var without = await _kms.GenerateDataKeyWithoutPlaintextAsync(new GenerateDataKeyWithoutPlaintextRequest { KeyId = keyId, KeySpec = DataKeySpec.AES_128 });
        var recovered = await _kms.DecryptAsync(new DecryptRequest { CiphertextBlob = new MemoryStream(without.CiphertextBlob.ToArray()) });
        Assert.Equal(16, recovered.Plaintext.Length);
        await AssertCode("ValidationException", () => _kms.GenerateDataKeyAsync(new GenerateDataKeyRequest { KeyId = keyId }));

        var random = await _kms.GenerateRandomAsync(new GenerateRandomRequest { NumberOfBytes = 64 });
        Assert.Equal(64, random.Plaintext.Length);
    }

    [Fact]
    public async Task Rotation_keeps_old_ciphertexts_decryptable()
    {
        var keyId = await NewKey();
        var old = (await _kms.EncryptAsync(new EncryptRequest { KeyId = keyId, Plaintext = new MemoryStream([42]) })).CiphertextBlob.ToArray();
        Assert.False((await _kms.GetKeyRotationStatusAsync(new GetKeyRotationStatusRequest { KeyId = keyId })).KeyRotationEnabled);
        await _kms.EnableKeyRotationAsync(new EnableKeyRotationRequest { KeyId = keyId, RotationPeriodInDays = 90 });
        var status = await _kms.GetKeyRotationStatusAsync(new GetKeyRotationStatusRequest { KeyId = keyId });
        Assert.True(status.KeyRotationEnabled);
        Assert.Equal(90, status.RotationPeriodInDays);
        await _kms.DisableKeyRotationAsync(new DisableKeyRotationRequest { KeyId = keyId });

        var rotated = await _kms.RotateKeyOnDemandAsync(new RotateKeyOnDemandRequest { KeyId = keyId });
        Assert.Equal(keyId, rotated.KeyId);
        var rotations = await _kms.ListKeyRotationsAsync(new ListKeyRotationsRequest { KeyId = keyId });
        Assert.Single(rotations.Rotations);
        var fresh = (await _kms.EncryptAsync(new EncryptRequest { KeyId = keyId, Plaintext = new MemoryStream([43]) })).CiphertextBlob.ToArray();
        Assert.Equal(1, BinaryPrimitives.ReadInt32BigEndian(old.AsSpan(7 + 36))); // the §7 header names the version
        Assert.Equal(2, BinaryPrimitives.ReadInt32BigEndian(fresh.AsSpan(7 + 36)));
        Assert.Equal([42], (await _kms.DecryptAsync(new DecryptRequest { CiphertextBlob = new MemoryStream(old) })).Plaintext.ToArray());
        Assert.Equal([43], (await _kms.DecryptAsync(new DecryptRequest { CiphertextBlob = new MemoryStream(fresh) })).Plaintext.ToArray());
        Assert.Equal(2, _gateway.Keys.DescribeKey(keyId, "test").PrimaryVersion);
    }

    [Fact]
    public async Task Disable_and_schedule_deletion_make_the_key_unusable()
    {
        var keyId = await NewKey();
        var blob = (await _kms.EncryptAsync(new EncryptRequest { KeyId = keyId, Plaintext = new MemoryStream([1]) })).CiphertextBlob.ToArray();
        await _kms.DisableKeyAsync(new DisableKeyRequest { KeyId = keyId });
        Assert.Equal(KeyState.Disabled, (await _kms.DescribeKeyAsync(new DescribeKeyRequest { KeyId = keyId })).KeyMetadata.KeyState);
        await Assert.ThrowsAsync<DisabledException>(() => _kms.EncryptAsync(new EncryptRequest { KeyId = keyId, Plaintext = new MemoryStream([1]) }));
        await Assert.ThrowsAsync<DisabledException>(() => _kms.DecryptAsync(new DecryptRequest { CiphertextBlob = new MemoryStream(blob) }));
        await _kms.EnableKeyAsync(new EnableKeyRequest { KeyId = keyId });
        await _kms.DecryptAsync(new DecryptRequest { CiphertextBlob = new MemoryStream(blob) });

        await AssertCode("ValidationException", () => _kms.ScheduleKeyDeletionAsync(new ScheduleKeyDeletionRequest { KeyId = keyId, PendingWindowInDays = 3 }));
        var scheduled = await _kms.ScheduleKeyDeletionAsync(new ScheduleKeyDeletionRequest { KeyId = keyId, PendingWindowInDays = 7 });
        Assert.Equal(KeyState.PendingDeletion, scheduled.KeyState);
        Assert.Equal(7, scheduled.PendingWindowInDays);
        Assert.InRange(scheduled.DeletionDate!.Value, DateTime.UtcNow.AddDays(6.9), DateTime.UtcNow.AddDays(7.1));
        var meta = (await _kms.DescribeKeyAsync(new DescribeKeyRequest { KeyId = keyId })).KeyMetadata;
        Assert.Equal(KeyState.PendingDeletion, meta.KeyState);
        await Assert.ThrowsAsync<KMSInvalidStateException>(() => _kms.DecryptAsync(new DecryptRequest { CiphertextBlob = new MemoryStream(blob) }));
        await _kms.CancelKeyDeletionAsync(new CancelKeyDeletionRequest { KeyId = keyId });
        // As AWS KMS: a cancelled deletion leaves the key Disabled until someone enables it.
        Assert.Equal(KeyState.Disabled, (await _kms.DescribeKeyAsync(new DescribeKeyRequest { KeyId = keyId })).KeyMetadata.KeyState);
        await Assert.ThrowsAsync<DisabledException>(() => _kms.DecryptAsync(new DecryptRequest { CiphertextBlob = new MemoryStream(blob) }));
        await _kms.EnableKeyAsync(new EnableKeyRequest { KeyId = keyId });
        await _kms.DecryptAsync(new DecryptRequest { CiphertextBlob = new MemoryStream(blob) });
    }

    [Fact]
    public async Task Restricted_principal_may_encrypt_but_not_decrypt_and_denials_are_audited()
    {
        var keyId = await NewKey();
        await _kms.CreateAliasAsync(new CreateAliasRequest { AliasName = AppAlias, TargetKeyId = keyId });
        var otherKey = await NewKey();
        using var app = Client(AppAccessKey, AppSecret);

        var blob = (await app.EncryptAsync(new EncryptRequest { KeyId = AppAlias, Plaintext = new MemoryStream([7]) })).CiphertextBlob.ToArray();
        var dk = await app.GenerateDataKeyAsync(new GenerateDataKeyRequest { KeyId = keyId, KeySpec = DataKeySpec.AES_256 }); // by id: same key
        await app.DescribeKeyAsync(new DescribeKeyRequest { KeyId = AppAlias });

        var denied = await Assert.ThrowsAsync<AmazonKeyManagementServiceException>(() => app.DecryptAsync(new DecryptRequest { CiphertextBlob = new MemoryStream(blob) }));
        Assert.Equal("AccessDeniedException", denied.ErrorCode);
        await Assert.ThrowsAsync<AmazonKeyManagementServiceException>(() => app.EncryptAsync(new EncryptRequest { KeyId = otherKey, Plaintext = new MemoryStream([7]) }));
        await Assert.ThrowsAsync<AmazonKeyManagementServiceException>(() => app.DisableKeyAsync(new DisableKeyRequest { KeyId = keyId }));
        // An unknown key is denied too (a restricted principal learns nothing about keys it may not use).
        var unknown = await Assert.ThrowsAsync<AmazonKeyManagementServiceException>(() => app.EncryptAsync(new EncryptRequest { KeyId = Guid.NewGuid().ToString(), Plaintext = new MemoryStream([7]) }));
        Assert.Equal("AccessDeniedException", unknown.ErrorCode);

        // The administrator still decrypts what the application encrypted.
        Assert.Equal([7], (await _kms.DecryptAsync(new DecryptRequest { CiphertextBlob = new MemoryStream(blob) })).Plaintext.ToArray());
        Assert.Equal(32, (await _kms.DecryptAsync(new DecryptRequest { CiphertextBlob = new MemoryStream(dk.CiphertextBlob.ToArray()) })).Plaintext.Length);

        var audit = _gateway.Keys.ReadAudit(new AuditFilter { Principal = AppAccessKey }, "test");
        Assert.Contains(audit, a => a.Operation == "Decrypt" && a.Result == "AccessDenied" && a.KeyId == keyId);
        Assert.Contains(audit, a => a.Operation == "Encrypt" && a.Result == "AccessDenied" && a.KeyId == otherKey);
        Assert.Contains(audit, a => a.Operation == "DisableKey" && a.Result == "AccessDenied");
        Assert.Contains(audit, a => a.Operation == "Encrypt" && a.Result == "ok" && a.KeyId == keyId);
        Assert.Contains(audit, a => a.Operation == "GenerateDataKey" && a.Result == "ok");
        Assert.True(_gateway.Keys.VerifyAudit("test").Ok);
    }

    [Fact]
    public async Task The_gateway_default_key_is_usable_by_name()
    {
        var meta = (await _kms.DescribeKeyAsync(new DescribeKeyRequest { KeyId = "default" })).KeyMetadata;
        Assert.Equal(_gateway.Keys.DescribeKey("default", "test").Id, meta.KeyId);
        var blob = (await _kms.EncryptAsync(new EncryptRequest { KeyId = "default", Plaintext = new MemoryStream([5]) })).CiphertextBlob.ToArray();
        Assert.Equal([5], _gateway.Keys.Decrypt(blob, null, "test").Plaintext);
        // A key created over KMS is usable in-process (and thus by the S3 gateway's bucket keys) by its id.
        var keyId = await NewKey();
        using var dk = _gateway.Keys.GenerateDataKey(keyId, null, "test");
        Assert.Equal(keyId, dk.Wrapped.KeyId);
    }
}
