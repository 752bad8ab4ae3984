using System.Net;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.Kms.Audit;
using Coffre.TestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// Bucket lifecycle configuration through AWSSDK.S3 (Put/Get/Delete, S3's validation errors), and its execution by the
/// gateway's maintenance service: due objects expire, every action is audited, locked versions stay.
/// </summary>
public sealed class LifecycleSdkTests
{
    private static PutLifecycleConfigurationRequest Put(string bucket, params LifecycleRule[] rules) =>
        new() { BucketName = bucket, Configuration = new LifecycleConfiguration { Rules = [.. rules] } };

    [Fact]
    public async Task A_configuration_reads_back_as_written_and_invalid_ones_get_S3s_errors()
    {
        await using var gateway = await GatewayServer.StartAsync();
        using var s3 = gateway.CreateClient();
        await s3.PutBucketAsync("lcfg");
        await AssertNoConfigurationAsync(gateway, s3);

        await s3.PutLifecycleConfigurationAsync(Put("lcfg",
            new LifecycleRule
            {
                Id = "logs", Status = LifecycleRuleStatus.Enabled, Filter = new LifecycleFilter { Prefix = "logs/" },
                Expiration = new LifecycleRuleExpiration { Days = 30 },
                NoncurrentVersionExpiration = new LifecycleRuleNoncurrentVersionExpiration { NoncurrentDays = 7, NewerNoncurrentVersions = 2 },
            },
            new LifecycleRule
            {
                Id = "uploads", Status = LifecycleRuleStatus.Disabled, Filter = new LifecycleFilter { Prefix = "" },
                AbortIncompleteMultipartUpload = new LifecycleRuleAbortIncompleteMultipartUpload { DaysAfterInitiation = 3 },
                Expiration = new LifecycleRuleExpiration { ExpiredObjectDeleteMarker = true },
            },
            new LifecycleRule
            {
                Id = "tagged", Status = LifecycleRuleStatus.Enabled,
                Filter = new LifecycleFilter { Tag = new Tag { Key = "class", Value = "scratch" } },
                Expiration = new LifecycleRuleExpiration { Date = new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc) },
            }));
        var rules = (await s3.GetLifecycleConfigurationAsync("lcfg")).Configuration.Rules;
        Assert.Equal(["logs", "uploads", "tagged"], rules.Select(r => r.Id));
        // The SDK reads a filter's single condition into LifecycleFilterPredicate.
        Assert.Equal(("logs/", 30, 7, 2), (rules[0].Filter.Prefix ?? (rules[0].Filter.LifecycleFilterPredicate as LifecyclePrefixPredicate)?.Prefix, rules[0].Expiration.Days, rules[0].NoncurrentVersionExpiration.NoncurrentDays,
            rules[0].NoncurrentVersionExpiration.NewerNoncurrentVersions));
        Assert.Equal((LifecycleRuleStatus.Disabled, 3, true), (rules[1].Status, rules[1].AbortIncompleteMultipartUpload.DaysAfterInitiation, rules[1].Expiration.ExpiredObjectDeleteMarker));
        var tag = rules[2].Filter.Tag ?? (rules[2].Filter.LifecycleFilterPredicate as LifecycleTagPredicate)?.Tag;
        Assert.Equal(("class", "scratch"), (tag?.Key, tag?.Value));
        Assert.Equal(new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc), rules[2].Expiration.Date!.Value.ToUniversalTime());

        foreach (var (rule, code) in new (LifecycleRule, string)[]
        {
            (new LifecycleRule { Id = "d", Status = LifecycleRuleStatus.Enabled, Filter = new LifecycleFilter { Prefix = "" }, Expiration = new LifecycleRuleExpiration { Days = 0 } }, "InvalidArgument"),
            (new LifecycleRule { Id = "n", Status = LifecycleRuleStatus.Enabled, Filter = new LifecycleFilter { Prefix = "" } }, "InvalidArgument"),
            (new LifecycleRule { Id = new string('x', 256), Status = LifecycleRuleStatus.Enabled, Filter = new LifecycleFilter { Prefix = "" }, Expiration = new LifecycleRuleExpiration { Days = 1 } }, "InvalidArgument"),
            (new LifecycleRule { Id = "m", Status = LifecycleRuleStatus.Enabled, Filter = new LifecycleFilter { Prefix = "" },
                Expiration = new LifecycleRuleExpiration { Date = new DateTime(2030, 1, 1, 12, 0, 0, DateTimeKind.Utc) } }, "InvalidArgument"),
        })
        {
            var refused = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.PutLifecycleConfigurationAsync(Put("lcfg", rule)));
            Assert.Equal((code, HttpStatusCode.BadRequest), (refused.ErrorCode, refused.StatusCode));
        }
        var duplicate = new LifecycleRule { Id = "same", Status = LifecycleRuleStatus.Enabled, Filter = new LifecycleFilter { Prefix = "" }, Expiration = new LifecycleRuleExpiration { Days = 1 } };
        Assert.Equal("InvalidArgument", (await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.PutLifecycleConfigurationAsync(Put("lcfg", duplicate, duplicate)))).ErrorCode);
        using var malformed = await SdkTestSupport.SendSignedAsync(gateway, HttpMethod.Put, "/lcfg?lifecycle",
            "<LifecycleConfiguration><Rule><ID>x</ID><Status>On</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>"u8.ToArray());
        Assert.Equal("MalformedXML", await SdkTestSupport.ErrorCodeAsync(malformed));
        Assert.Equal(3, (await s3.GetLifecycleConfigurationAsync("lcfg")).Configuration.Rules.Count); // refused changes changed nothing

        await s3.DeleteLifecycleConfigurationAsync("lcfg");
        await AssertNoConfigurationAsync(gateway, s3);
    }

    /// <summary>S3 answers 404 NoSuchLifecycleConfiguration, which the SDK turns into an empty configuration.</summary>
    private static async Task AssertNoConfigurationAsync(GatewayServer gateway, IAmazonS3 s3)
    {
        Assert.Empty((await s3.GetLifecycleConfigurationAsync("lcfg")).Configuration?.Rules ?? []);
        using var raw = await SdkTestSupport.SendSignedAsync(gateway, HttpMethod.Get, "/lcfg?lifecycle");
        Assert.Equal(HttpStatusCode.NotFound, raw.StatusCode);
        Assert.Equal("NoSuchLifecycleConfiguration", await SdkTestSupport.ErrorCodeAsync(raw));
    }

    [Fact]
    public async Task The_maintenance_service_expires_due_objects_audits_each_and_leaves_locked_versions_over_moto()
    {
        using var moto = new MotoServer();
        await moto.StartAsync();
        await using var gateway = await GatewayServer.StartAsync(moto, o =>
        {
            o.MaintenanceInterval = TimeSpan.FromMilliseconds(200);
            o.LifecycleInterval = TimeSpan.FromMilliseconds(200);
        });
        using var s3 = gateway.CreateClient();
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = "expiring", ObjectLockEnabledForBucket = true });
        var locked = (await s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = "expiring", Key = "old/locked", ContentBody = "l", ObjectLockLegalHoldStatus = ObjectLockLegalHoldStatus.On,
        })).VersionId;
        var free = (await s3.PutObjectAsync(new PutObjectRequest { BucketName = "expiring", Key = "old/free", ContentBody = "f" })).VersionId;
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "expiring", Key = "new/kept", ContentBody = "k" });
        // Expire "old/" objects on a date already reached (today, midnight UTC).
        await s3.PutLifecycleConfigurationAsync(Put("expiring", new LifecycleRule
        {
            Id = "old", Status = LifecycleRuleStatus.Enabled, Filter = new LifecycleFilter { Prefix = "old/" },
            Expiration = new LifecycleRuleExpiration { Date = DateTime.UtcNow.Date },
        }));

        // Polled with a generous limit: the maintenance service runs every 200 ms.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (Audited(gateway).Count < 2 && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Equal(["old/free", "old/locked"], Audited(gateway).Order());

        var versions = (await s3.ListVersionsAsync(new ListVersionsRequest { BucketName = "expiring" })).Versions;
        // Each expired object is hidden under a delete marker; its versions, the locked one included, are all still there.
        Assert.True(versions.Single(v => v.Key == "old/free" && v.IsLatest == true).IsDeleteMarker);
        Assert.Contains(versions, v => v.VersionId == locked);
        Assert.Contains(versions, v => v.VersionId == free);
        Assert.False(versions.Single(v => v.Key == "new/kept").IsDeleteMarker ?? false);
    }

    private static List<string> Audited(GatewayServer gateway) =>
        gateway.Keys.ReadAudit(new AuditFilter { Operation = "Lifecycle.Expire" }, "test")
            .Select(r => System.Text.Json.JsonDocument.Parse(r.Context!).RootElement.GetProperty("object").GetString()!).ToList();
}
