using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.Kms.Keys;
using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Server.Hosting;
using Coffre.Server.Tests.Gateway;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Coffre.Sqlite.Kms;
using Coffre.Sqlite.Objects;

namespace Coffre.Server.Tests.Lifecycle;

/// <summary>Key states seen through the S3 face, with the AWS SDK.</summary>
public sealed class KeyLifecycleGatewayTests : IAsyncLifetime
{
    private GatewayServer _gateway = null!;
    private AmazonS3Client _s3 = null!;

    public async Task InitializeAsync()
    {
        _gateway = await GatewayServer.StartAsync(
            configure: o => o.BucketKeys["other-bucket"] = "other",
            kmsOptions: KmsOptions.InsecureForTests with { AllowShortDestructionDelayForTests = true });
        _gateway.Keys.CreateKey("other", null, KeyManager.SystemPrincipal);
        // No retries: a refused request must be seen as it is answered (the SDK retries 503s).
        _s3 = new AmazonS3Client(new BasicAWSCredentials(GatewayServer.AccessKey, GatewayServer.SecretKey), new AmazonS3Config
        {
            ServiceURL = _gateway.Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1", UseHttp = true, MaxErrorRetry = 0,
        });
    }

    public async Task DisposeAsync()
    {
        _s3.Dispose();
        await _gateway.DisposeAsync();
    }

    private SqliteObjectCatalog Catalog => SqliteObjectCatalog.Open(Path.Combine(_gateway.DataDirectory, ObjectServices.CatalogFileName));

    private static string Body(string bucket, string name) => $"{bucket}/{name}: contents";

    private async Task PutAsync(string bucket, string name, string? body = null) =>
        await _s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = name, ContentBody = body ?? Body(bucket, name) });

    private async Task<string> GetAsync(string bucket, string name)
    {
        using var got = await _s3.GetObjectAsync(bucket, name);
        using var reader = new StreamReader(got.ResponseStream);
        return await reader.ReadToEndAsync();
    }

    private static async Task<AmazonS3Exception> Refused(Func<Task> call, string code, HttpStatusCode status, params string[] messageParts)
    {
        var e = await Assert.ThrowsAsync<AmazonS3Exception>(call);
        Assert.Equal(code, e.ErrorCode);
        Assert.Equal(status, e.StatusCode);
        foreach (var part in messageParts) Assert.Contains(part, e.Message);
        return e;
    }

    private async Task<(string Bucket, string Name)[]> FillAsync(string bucket, int count)
    {
        await _s3.PutBucketAsync(bucket);
        var names = Enumerable.Range(0, count).Select(i => (bucket, $"f{i:D3}")).ToArray();
        foreach (var (b, n) in names) await PutAsync(b, n);
        return names;
    }

    [Fact]
    public async Task Disable_refuses_every_request_using_the_key_and_enable_restores()
    {
        await FillAsync("data", 3);
        await FillAsync("other-bucket", 2);
        _gateway.Keys.DisableKey("default", "officer");

        await Refused(() => GetAsync("data", "f000"), "KMS.DisabledException", HttpStatusCode.BadRequest, "default", "disabled");
        await Refused(() => PutAsync("data", "new"), "KMS.DisabledException", HttpStatusCode.BadRequest, "default", "disabled");
        await Refused(() => _s3.InitiateMultipartUploadAsync("data", "mp"), "KMS.DisabledException", HttpStatusCode.BadRequest, "default");
        Assert.Null(await Catalog.GetObjectAsync("data", "new"));
        // Another key is unaffected.
        Assert.Equal(Body("other-bucket", "f001"), await GetAsync("other-bucket", "f001"));
        await PutAsync("other-bucket", "new");

        _gateway.Keys.EnableKey("default", "officer");
        Assert.Equal(Body("data", "f000"), await GetAsync("data", "f000"));
        await PutAsync("data", "new");
        Assert.Equal(Body("data", "new"), await GetAsync("data", "new"));
    }

    [Fact]
    public async Task Pending_destruction_refuses_use_and_cancel_restores()
    {
        await FillAsync("data", 2);
        _gateway.Keys.ScheduleDestruction("default", TimeSpan.FromDays(7), "officer");
        await Refused(() => GetAsync("data", "f000"), "KMS.KMSInvalidStateException", HttpStatusCode.BadRequest, "default", "scheduled for destruction");
        await Refused(() => PutAsync("data", "x"), "KMS.KMSInvalidStateException", HttpStatusCode.BadRequest, "default");
        _gateway.Keys.CancelDestruction("default", "officer");
        Assert.Equal(Body("data", "f001"), await GetAsync("data", "f001"));
        await PutAsync("data", "x");
    }

    [Fact]
    public async Task Destruction_makes_exactly_the_impact_report_unreadable()
    {
        var doomed = await FillAsync("data", 12);
        await FillAsync("other-bucket", 8);
        // Objects moved between keys before the report: one overwritten in place (same key), some
        // deleted; the report must reflect the catalog as it is.
        await _s3.DeleteObjectAsync("data", "f003");
        await _s3.DeleteObjectAsync("data", "f004");
        await PutAsync("data", "f005", "replaced");
        _gateway.Keys.RotateKey("default", "officer");
        await PutAsync("data", "after-rotation");

        var keyId = _gateway.Keys.DescribeKey("default", "officer").Id;
        var impact = (await Catalog.ObjectsUnderKeyAsync(keyId)).Select(o => (o.Bucket, o.Name)).ToHashSet();
        Assert.Equal(11, impact.Count);
        Assert.Equal([1, 2], (await Catalog.ObjectsUnderKeyAsync(keyId)).Select(o => o.Version).Distinct().Order());

        _gateway.Keys.ScheduleDestruction("default", TimeSpan.FromMilliseconds(300), "officer");
        await Task.Delay(600);
        Assert.Equal(1, _gateway.Keys.DestroyDueKeys("officer"));

        var failed = new HashSet<(string, string)>();
        foreach (var bucket in new[] { "data", "other-bucket" })
        {
            var listing = await _s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket });
            foreach (var o in listing.S3Objects)
            {
                try
                {
                    await GetAsync(bucket, o.Key);
                }
                catch (AmazonS3Exception e)
                {
                    Assert.Equal("KMS.KMSInvalidStateException", e.ErrorCode);
                    Assert.Equal(HttpStatusCode.BadRequest, e.StatusCode);
                    Assert.Contains("default", e.Message);
                    Assert.Contains("destroyed", e.Message);
                    failed.Add((bucket, o.Key));
                }
            }
        }
        Assert.Equal(impact.Order(), failed.Order());
        Assert.DoesNotContain(failed, f => f.Item1 == "other-bucket");
        Assert.Equal(Body("other-bucket", "f007"), await GetAsync("other-bucket", "f007"));
    }

    [Fact]
    public async Task Minimum_decryption_version_refuses_unrewrapped_objects_and_accepts_them_after_rewrap()
    {
        var names = await FillAsync("data", 10);
        _gateway.Keys.RotateKey("default", "officer");
        await PutAsync("data", "on-v2");

        // Retired without a rewrap: objects still on v1 are refused, with a message that says why and what to do.
        _gateway.Keys.SetMinimumDecryptionVersion("default", 2, "officer");
        await Refused(() => GetAsync("data", "f000"), "KMS.KMSInvalidStateException", HttpStatusCode.BadRequest,
            "default", "minimum decryption version", "rewrap");
        Assert.Equal(Body("data", "on-v2"), await GetAsync("data", "on-v2"));

        // Rotate + rewrap + retire: everything reads.
        _gateway.Keys.SetMinimumDecryptionVersion("default", 1, "officer");
        var result = await _gateway.Services.GetRequiredService<Rewrapper>().RunAsync(new RewrapRequest(KeyRef: "default"), "officer");
        Assert.Equal(new RewrapResult(10, 0, 0), result);
        _gateway.Keys.SetMinimumDecryptionVersion("default", 2, "officer");
        foreach (var (b, n) in names) Assert.Equal(Body(b, n), await GetAsync(b, n));
        Assert.Equal(Body("data", "on-v2"), await GetAsync("data", "on-v2"));
    }

    [Fact]
    public async Task Audit_store_rejecting_inserts_refuses_gateway_operations_with_503()
    {
        await FillAsync("data", 1);
        var keysDb = new SqliteConnectionStringBuilder { DataSource = Path.Combine(_gateway.DataDirectory, SqliteKeyDatabase.FileName), Pooling = false }.ToString();
        Sql(keysDb, "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'x'); END;");
        var garbage = (await Catalog.GarbageOlderThanAsync(DateTimeOffset.UtcNow.AddMinutes(1))).Count;
        try
        {
            await Refused(() => PutAsync("data", "unaudited"), "ServiceUnavailable", HttpStatusCode.ServiceUnavailable, "audit");
            Assert.Null(await Catalog.GetObjectAsync("data", "unaudited"));
            // The body was stored while the data key's record was committing; refused, it is garbage at once.
            Assert.Equal(garbage + 1, (await Catalog.GarbageOlderThanAsync(DateTimeOffset.UtcNow.AddMinutes(1))).Count);
            await Refused(() => GetAsync("data", "f000"), "ServiceUnavailable", HttpStatusCode.ServiceUnavailable);
        }
        finally
        {
            Sql(keysDb, "DROP TRIGGER refuse_audit;");
        }
        // Back once the audit store accepts records again.
        await PutAsync("data", "audited");
        Assert.Equal(Body("data", "audited"), await GetAsync("data", "audited"));
    }

    [Fact]
    public async Task Catalog_rejecting_writes_refuses_gateway_writes_with_503_and_changes_nothing()
    {
        await FillAsync("data", 1);
        var catalogDb = new SqliteConnectionStringBuilder { DataSource = Path.Combine(_gateway.DataDirectory, ObjectServices.CatalogFileName), Pooling = false }.ToString();
        Sql(catalogDb, "CREATE TRIGGER refuse_objects BEFORE UPDATE ON objects BEGIN SELECT RAISE(ABORT, 'disk says no'); END;" +
                       "CREATE TRIGGER refuse_new_objects BEFORE INSERT ON objects BEGIN SELECT RAISE(ABORT, 'disk says no'); END;");
        try
        {
            var e = await Refused(() => PutAsync("data", "f000", "replacement"), "ServiceUnavailable", HttpStatusCode.ServiceUnavailable, "catalog", "Retry");
            Assert.DoesNotContain("disk says no", e.Message); // the database's words are for the log
            await Refused(() => PutAsync("data", "new"), "ServiceUnavailable", HttpStatusCode.ServiceUnavailable, "catalog");
            // Nothing half-written: the old version is still served, the new name does not exist.
            Assert.Equal(Body("data", "f000"), await GetAsync("data", "f000"));
            await Assert.ThrowsAsync<NoSuchKeyException>(() => GetAsync("data", "new"));
        }
        finally
        {
            Sql(catalogDb, "DROP TRIGGER refuse_objects; DROP TRIGGER refuse_new_objects;");
        }
        // Back once the catalog accepts writes again.
        await PutAsync("data", "f000", "replacement");
        Assert.Equal("replacement", await GetAsync("data", "f000"));
    }

    private static void Sql(string connectionString, string sql)
    {
        using var c = new SqliteConnection(connectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
