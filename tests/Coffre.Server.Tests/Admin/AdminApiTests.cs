using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Amazon.S3;
using Coffre.Kms.Access;
using Coffre.Kms.Audit;
using Coffre.Kms.Store;
using Coffre.Server.Admin;
using Coffre.Server.Auth;
using Coffre.Server.Signing;
using Coffre.Server.Tests.Gateway;
using Microsoft.Extensions.DependencyInjection;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;
using Coffre.Sqlite.Kms;

namespace Coffre.Server.Tests.Admin;

/// <summary>The admin API of a real gateway: who may call it, what it refuses, and that what it creates works at once with AWSSDK.</summary>
public sealed class AdminApiTests(AdminApiTests.Fixture fixture) : IClassFixture<AdminApiTests.Fixture>
{
    /// <summary>Every data grant, S3 and KMS, but not the admin grant.</summary>
    public const string Operator = "AKIAOPERATOR00000001";
    private const string OperatorSecret = "operator-secret-000000000000000000000001";
    private const string AccessKeys = AdminApi.PathPrefix + "/access-keys";

    public sealed class Fixture : IAsyncLifetime
    {
        public GatewayServer Gateway { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Gateway = await GatewayServer.StartAsync(configure: o => o.AccessKeys.Add(new AccessKeyOptions
            {
                AccessKeyId = Operator, SecretAccessKey = OperatorSecret,
                ReadBuckets = ["*"], WriteBuckets = ["*"], KmsKeys = ["*"], KmsAdminKeys = ["*"],
            }));
            using var root = Gateway.CreateClient();
            await root.PutBucketAsync("apps");
        }

        public async Task DisposeAsync() => await Gateway.DisposeAsync();
    }

    private GatewayServer Gateway => fixture.Gateway;

    private AccessKeyManager StoredKeys => Gateway.Services.GetRequiredService<AccessKeyManager>();

    /// <summary>A SigV4 request for the admin API; <paramref name="payloadHash"/> null signs the body's hash as the CLI does.</summary>
    private async Task<(HttpStatusCode Status, JsonElement Body)> Send(string method, string path, object? body,
        string accessKey = GatewayServer.AccessKey, string secretKey = GatewayServer.SecretKey, string? payloadHash = null, byte[]? sentBody = null)
    {
        var bytes = body is null ? [] : JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), AdminJson.Options);
        var uri = new Uri(Gateway.Endpoint + path);
        var timestamp = SigV4ClientSigner.Timestamp(DateTimeOffset.UtcNow);
        var headers = new List<(string Name, string Value)> { ("host", uri.Authority), ("x-amz-date", timestamp) };
        if (payloadHash is not null) headers.Add(("x-amz-content-sha256", payloadHash));
        headers.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        var signedHeaders = string.Join(';', headers.Select(h => h.Name));
        var canonical = SigV4Canonicalizer.CanonicalRequest(method, SigV4Canonicalizer.CanonicalUri(path, false), "", headers, signedHeaders,
            payloadHash ?? SigV4Canonicalizer.Sha256Hex(bytes));
        var scope = SigV4Canonicalizer.Scope(timestamp[..8], "us-east-1", AdminApi.Service);
        var signature = SigV4Canonicalizer.Sign(SigV4Canonicalizer.DeriveSigningKey(secretKey, timestamp[..8], "us-east-1", AdminApi.Service),
            SigV4Canonicalizer.StringToSign(timestamp, scope, canonical));

        using var http = new HttpClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), uri);
        request.Headers.TryAddWithoutValidation("x-amz-date", timestamp);
        if (payloadHash is not null) request.Headers.TryAddWithoutValidation("x-amz-content-sha256", payloadHash);
        request.Headers.TryAddWithoutValidation("Authorization",
            $"{SigV4Canonicalizer.Algorithm} Credential={accessKey}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}");
        if (method != "GET")
        {
            request.Content = new ByteArrayContent(sentBody ?? bytes);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private static CreateAccessKeyBody AppKey => new("app", new GrantsBody(ReadBuckets: ["apps"], WriteBuckets: ["apps"]));

    [Fact]
    public async Task A_key_without_the_admin_grant_cannot_create_list_or_revoke_access_keys_and_is_audited()
    {
        var before = StoredKeys.List().Count;
        var (status, body) = await Send("POST", AccessKeys, new CreateAccessKeyBody("mine", new GrantsBody(Admin: true)), Operator, OperatorSecret);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("AccessDenied", body.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, (await Send("GET", AccessKeys, null, Operator, OperatorSecret)).Status);
        Assert.Equal(before, StoredKeys.List().Count);
        var refusal = Assert.Single(Gateway.Keys.ReadAudit(new AuditFilter { Principal = Operator, Operation = AccessKeyManager.CreateOperation }, "test"));
        Assert.Equal("AccessDenied", refusal.Result);
    }

    [Fact]
    public async Task Unsigned_payloads_and_bodies_the_signature_does_not_cover_are_refused()
    {
        var before = StoredKeys.List().Count;
        // A valid signature over UNSIGNED-PAYLOAD: anyone holding the request could change the body (the grants).
        var (status, body) = await Send("POST", AccessKeys, AppKey, payloadHash: "UNSIGNED-PAYLOAD");
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("Unauthenticated", body.GetProperty("code").GetString());
        // The hash of one body signed, another sent (asking for the admin grant).
        var signed = JsonSerializer.SerializeToUtf8Bytes(AppKey, AdminJson.Options);
        var swapped = JsonSerializer.SerializeToUtf8Bytes(new CreateAccessKeyBody("app", new GrantsBody(Admin: true)), AdminJson.Options);
        (status, _) = await Send("POST", AccessKeys, AppKey, payloadHash: SigV4Canonicalizer.Sha256Hex(signed), sentBody: swapped);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal(before, StoredKeys.List().Count);
    }

    [Fact]
    public async Task Invalid_grants_are_refused_with_400_and_create_nothing()
    {
        var before = StoredKeys.List().Count;
        var (status, body) = await Send("POST", AccessKeys, new CreateAccessKeyBody(null, new GrantsBody(KmsKeys: ["*"], KmsOperations: ["DisableKey"])));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("administrative operation", body.GetProperty("message").GetString());
        Assert.Equal(before, StoredKeys.List().Count);
    }

    [Fact]
    public async Task A_created_key_works_with_AWSSDK_at_once_and_rotation_and_revocation_apply_at_once()
    {
        var (status, created) = await Send("POST", AccessKeys, AppKey);
        Assert.Equal(HttpStatusCode.OK, status);
        var id = created.GetProperty("accessKeyId").GetString()!;
        var secret = created.GetProperty("secretAccessKey").GetString()!;
        using (var s3 = Client(Gateway, c => c.MaxErrorRetry = 0, accessKey: id, secretKey: secret))
        {
            await s3.PutBytesAsync("apps", "hello", "hi"u8.ToArray());
            Assert.Equal("hi"u8.ToArray(), await s3.GetBytesAsync("apps", "hello"));
        }
        var (_, shown) = await Send("GET", AccessKeys + "/" + id, null);
        Assert.False(shown.TryGetProperty("secretAccessKey", out _));

        var (_, rotated) = await Send("POST", AccessKeys + "/" + id + "/rotate", null);
        var newSecret = rotated.GetProperty("secretAccessKey").GetString()!;
        using (var old = Client(Gateway, c => c.MaxErrorRetry = 0, accessKey: id, secretKey: secret))
            Assert.Equal("SignatureDoesNotMatch", (await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => old.GetBytesAsync("apps", "hello"))).ErrorCode);
        using (var fresh = Client(Gateway, c => c.MaxErrorRetry = 0, accessKey: id, secretKey: newSecret))
            Assert.Equal("hi"u8.ToArray(), await fresh.GetBytesAsync("apps", "hello"));

        Assert.Equal(HttpStatusCode.OK, (await Send("POST", AccessKeys + "/" + id + "/revoke", null)).Status);
        using (var revoked = Client(Gateway, c => c.MaxErrorRetry = 0, accessKey: id, secretKey: newSecret))
            Assert.Equal("InvalidAccessKeyId", (await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => revoked.GetBytesAsync("apps", "hello"))).ErrorCode);
    }

    [Fact]
    public async Task A_key_revoked_by_another_process_is_refused_within_the_refresh_interval()
    {
        // Another writer of the same keys.db (as `coffre access-key` offline): this server learns of it only by polling.
        using var database = SqliteKeyDatabase.Open(Path.Combine(Gateway.DataDirectory, SqliteKeyDatabase.FileName), Gateway.Keys.DeploymentId);
        var offline = new AccessKeyManager(Gateway.Keys, database.AccessKeys);
        var created = offline.Create(new AccessGrants { ReadBuckets = ["apps"] }, "offline", "cli:test");
        using var s3 = Client(Gateway, c => c.MaxErrorRetry = 0, accessKey: created.Key.AccessKeyId, secretKey: created.SecretAccessKey);
        Assert.True(await Eventually(async () => await Code(() => s3.ListObjectsV2Async(new() { BucketName = "apps" })) is null),
            "a key created offline was never accepted");
        offline.Revoke(created.Key.AccessKeyId, "cli:test");
        Assert.True(await Eventually(async () => await Code(() => s3.ListObjectsV2Async(new() { BucketName = "apps" })) == "InvalidAccessKeyId"),
            "a key revoked offline was still accepted");
    }

    private static async Task<string?> Code(Func<Task> call)
    {
        try
        {
            await call();
            return null;
        }
        catch (AmazonS3Exception e)
        {
            return e.ErrorCode;
        }
    }

    /// <summary>Polls until the condition holds, for far longer than the refresh interval (2 s): no assertion on speed.</summary>
    private static async Task<bool> Eventually(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition()) return true;
            await Task.Delay(100);
        }
        return false;
    }
}
