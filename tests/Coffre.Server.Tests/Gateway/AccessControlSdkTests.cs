using System.Net;
using System.Text;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.Kms.Audit;
using Coffre.Server.Tests.Gateway.Clients;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// S3 access control through AWSSDK.S3 and raw HTTP against the in-process gateway: the operator's
/// Coffre:S3:BlockPublicAccess (on by default) keeps every bucket private whatever its owner sets; anonymous requests
/// decrypt under the "anonymous" principal, named in the audit trail and counted; unsigned KMS requests stay refused;
/// malformed ACL bodies answer MalformedACLError.
/// </summary>
public sealed class AccessControlSdkTests
{
    private static readonly HttpClient Http = new();

    [Fact]
    public async Task The_operator_block_keeps_every_bucket_private_whatever_its_owner_sets()
    {
        await using var gateway = await GatewayServer.StartAsync();
        using var s3 = gateway.CreateClient();
        await s3.PutBucketAsync("private-by-default");
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "private-by-default", Key = "doc", ContentBody = "secret" });
        await s3.PutPublicAccessBlockAsync(new PutPublicAccessBlockRequest
        {
            BucketName = "private-by-default",
            PublicAccessBlockConfiguration = new PublicAccessBlockConfiguration
            {
                BlockPublicAcls = false, IgnorePublicAcls = false, BlockPublicPolicy = false, RestrictPublicBuckets = false,
            },
        });
        // GET answers what the bucket's owner configured; the operator's switch still applies over it.
        var configured = (await s3.GetPublicAccessBlockAsync(new GetPublicAccessBlockRequest { BucketName = "private-by-default" })).PublicAccessBlockConfiguration;
        Assert.False(configured.BlockPublicAcls);
        var acl = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.PutObjectAclAsync(new PutObjectAclRequest
        {
            BucketName = "private-by-default", Key = "doc", ACL = S3CannedACL.PublicRead,
        }));
        Assert.Equal(("AccessDenied", HttpStatusCode.Forbidden), (acl.ErrorCode, acl.StatusCode));
        var policy = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.PutBucketPolicyAsync(new PutBucketPolicyRequest
        {
            BucketName = "private-by-default",
            Policy = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::private-by-default/*"}]}""",
        }));
        Assert.Equal(("AccessDenied", HttpStatusCode.Forbidden), (policy.ErrorCode, policy.StatusCode));

        Assert.Equal(HttpStatusCode.Forbidden, (await Http.GetAsync($"{gateway.Endpoint}/private-by-default/doc")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Http.GetAsync($"{gateway.Endpoint}/")).StatusCode);
        var missing = await Http.GetAsync($"{gateway.Endpoint}/no-such-bucket/doc");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("<Code>NoSuchBucket</Code>", await missing.Content.ReadAsStringAsync());

        // The KMS face keeps refusing unsigned requests, as before, in its own JSON shape.
        using var kms = new HttpRequestMessage(HttpMethod.Post, gateway.Endpoint + "/") { Content = new StringContent("{}", Encoding.UTF8, "application/x-amz-json-1.1") };
        kms.Headers.Add("X-Amz-Target", "TrentService.ListKeys");
        var refused = await Http.SendAsync(kms);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("__type", await refused.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Anonymous_reads_and_writes_are_audited_as_anonymous_and_counted()
    {
        await using var gateway = await GatewayServer.StartAsync(configure: AccessControlClientTests.PublicAccessAllowed);
        using var s3 = gateway.CreateClient();
        await s3.PutBucketAsync("public");
        await s3.PutPublicAccessBlockAsync(new PutPublicAccessBlockRequest
        {
            BucketName = "public",
            PublicAccessBlockConfiguration = new PublicAccessBlockConfiguration
            {
                BlockPublicAcls = false, IgnorePublicAcls = false, BlockPublicPolicy = false, RestrictPublicBuckets = false,
            },
        });
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "public", Key = "page", ContentBody = "hello", CannedACL = S3CannedACL.PublicRead });
        var get = await Http.GetAsync($"{gateway.Endpoint}/public/page");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal("hello", await get.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Forbidden, (await Http.PutAsync($"{gateway.Endpoint}/public/dropped", new StringContent("x"))).StatusCode);
        await s3.PutBucketAclAsync(new PutBucketAclRequest { BucketName = "public", ACL = S3CannedACL.PublicReadWrite });
        Assert.Equal(HttpStatusCode.OK, (await Http.PutAsync($"{gateway.Endpoint}/public/dropped", new StringContent("anonymous"))).StatusCode);
        using (var dropped = await s3.GetObjectAsync("public", "dropped"))
            Assert.Equal("anonymous", await new StreamReader(dropped.ResponseStream).ReadToEndAsync());

        // The data keys the anonymous GET unwrapped and the anonymous PUT generated are recorded as the anonymous principal's.
        var anonymous = gateway.Keys.ReadAudit(new AuditFilter { Principal = S3.Access.S3Authorizer.AnonymousPrincipal }, "test").Select(r => r.Operation).ToList();
        Assert.Contains(anonymous, o => o.Contains("Decrypt", StringComparison.Ordinal) || o.Contains("Unwrap", StringComparison.Ordinal));
        Assert.Contains(anonymous, o => o.Contains("GenerateDataKey", StringComparison.Ordinal));
        var metrics = await Http.GetStringAsync($"{gateway.Endpoint}/metrics");
        Assert.Contains("coffre_s3_anonymous_requests_total 3", metrics);
    }

    [Fact]
    public async Task Malformed_acl_bodies_answer_MalformedACLError()
    {
        await using var gateway = await GatewayServer.StartAsync();
        using var s3 = gateway.CreateClient();
        await s3.PutBucketAsync("acl-bodies");
        foreach (var body in new[] { "<AccessControlPolicy><unclosed>", "<NotAnAcl/>",
                     "<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>x</ID></Grantee><Permission>EVERYTHING</Permission></Grant></AccessControlList></AccessControlPolicy>" })
        {
            var r = await RawHttp.SendSignedAsync(gateway, "PUT", "/acl-bodies?acl", Encoding.UTF8.GetBytes(body));
            Assert.Equal((400, "MalformedACLError"), (r.Status, RawHttp.S3Code(r)));
        }
        var both = await RawHttp.SendSignedAsync(gateway, "PUT", "/acl-bodies?acl", [],
            [("x-amz-acl", "private"), ("x-amz-grant-read", "id=\"someone\"")]);
        Assert.Equal((400, "InvalidRequest"), (both.Status, RawHttp.S3Code(both)));
        var unknown = await RawHttp.SendSignedAsync(gateway, "PUT", "/acl-bodies?acl", [], [("x-amz-acl", "world-writable")]);
        Assert.Equal((400, "InvalidArgument"), (unknown.Status, RawHttp.S3Code(unknown)));
    }
}
