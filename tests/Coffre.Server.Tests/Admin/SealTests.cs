using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.Kms.Keys;
using Coffre.Server.Admin;
using Coffre.Server.Auth;
using Coffre.Server.Hosting;
using Coffre.Server.Signing;
using Coffre.Server.Tests.Gateway;

namespace Coffre.Server.Tests.Admin;

/// <summary>Seal and unseal of a real gateway: under load, with a Shamir root started sealed, and who may do what.</summary>
public sealed class SealTests
{
    private static AmazonS3Client S3(string endpoint) => new(new BasicAWSCredentials(GatewayServer.AccessKey, GatewayServer.SecretKey),
        new AmazonS3Config { ServiceURL = endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1", UseHttp = true, MaxErrorRetry = 0 });

    private static AmazonKeyManagementServiceClient Kms(string endpoint) => new(new BasicAWSCredentials(GatewayServer.AccessKey, GatewayServer.SecretKey),
        new AmazonKeyManagementServiceConfig { ServiceURL = endpoint, AuthenticationRegion = "us-east-1", UseHttp = true, MaxErrorRetry = 0 });

    /// <summary>An admin call as `coffre seal/unseal/status` makes it: signed (seal) or not (unseal, status).</summary>
    private static async Task<(HttpStatusCode Status, JsonElement Body)> Admin(string endpoint, string method, string path, object? body, bool signed)
    {
        var bytes = body is null ? [] : JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), AdminJson.Options);
        var uri = new Uri(endpoint + path);
        using var request = new HttpRequestMessage(new HttpMethod(method), uri);
        if (signed)
        {
            var headers = new Dictionary<string, string> { ["host"] = uri.Authority, ["x-amz-date"] = SigV4ClientSigner.Timestamp(DateTimeOffset.UtcNow) };
            request.Headers.TryAddWithoutValidation("x-amz-date", headers["x-amz-date"]);
            request.Headers.TryAddWithoutValidation("Authorization",
                SigV4ClientSigner.Authorization(method, path, headers, bytes, GatewayServer.AccessKey, GatewayServer.SecretKey, "us-east-1", AdminApi.Service));
        }
        if (method != "GET")
        {
            request.Content = new ByteArrayContent(bytes);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        using var http = new HttpClient();
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private static async Task<(HttpStatusCode, string)> Health(string endpoint)
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync(endpoint + "/healthz");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private sealed record Call(string Kind, long Start, long End, bool Ok, int? Status, string? Code);

    [Fact]
    public async Task Sealing_under_load_answers_no_request_with_a_key_while_sealed_and_loses_no_acknowledged_object()
    {
        await using var gateway = await GatewayServer.StartAsync();
        using var s3 = S3(gateway.Endpoint);
        using var kms = Kms(gateway.Endpoint);
        await s3.PutBucketAsync("load");
        var fixedBody = RandomNumberGenerator.GetBytes(70_000);
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "load", Key = "fixed", InputStream = new MemoryStream(fixedBody) });
        var blob = gateway.Keys.Encrypt("default", "secret answer"u8, null, "test");

        var calls = new ConcurrentBag<Call>();
        var acknowledged = new ConcurrentDictionary<string, byte[]>();
        using var stop = new CancellationTokenSource();

        async Task Worker(int worker)
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var kind = ((i + worker) % 3) switch { 0 => "put", 1 => "get", _ => "decrypt" };
                var start = Stopwatch.GetTimestamp();
                try
                {
                    switch (kind)
                    {
                        case "put":
                            var name = $"w{worker}-{i}";
                            var body = RandomNumberGenerator.GetBytes(1 + Random.Shared.Next(150_000));
                            await s3.PutObjectAsync(new PutObjectRequest { BucketName = "load", Key = name, InputStream = new MemoryStream(body) });
                            acknowledged[name] = SHA256.HashData(body);
                            break;
                        case "get":
                            using (var got = await s3.GetObjectAsync("load", "fixed"))
                            {
                                var buffer = new MemoryStream();
                                await got.ResponseStream.CopyToAsync(buffer);
                                Assert.Equal(fixedBody, buffer.ToArray());
                            }
                            break;
                        default:
                            var plain = await kms.DecryptAsync(new DecryptRequest { CiphertextBlob = new MemoryStream(blob) });
                            Assert.Equal("secret answer"u8.ToArray(), plain.Plaintext.ToArray());
                            break;
                    }
                    calls.Add(new Call(kind, start, Stopwatch.GetTimestamp(), true, 200, null));
                }
                catch (AmazonServiceException e)
                {
                    calls.Add(new Call(kind, start, Stopwatch.GetTimestamp(), false, (int)e.StatusCode, e.ErrorCode));
                }
            }
        }

        var workers = Enumerable.Range(0, 6).Select(w => Task.Run(() => Worker(w))).ToArray();
        await Task.Delay(600);
        var (status, sealedBody) = await Admin(gateway.Endpoint, "POST", SealApi.SealPath, null, signed: true);
        var sealedAt = Stopwatch.GetTimestamp();
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(sealedBody.GetProperty("sealed").GetBoolean());
        // Sealed long enough for the workers to make 20 calls (a fixed delay is too short on a loaded machine).
        var sealedDeadline = DateTime.UtcNow.AddSeconds(60);
        while (calls.Count(c => c.Start > sealedAt) < 20 && DateTime.UtcNow < sealedDeadline) await Task.Delay(100);
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "sealed\n"), await Health(gateway.Endpoint));
        var unsealingAt = Stopwatch.GetTimestamp();
        var (unsealStatus, unsealed) = await Admin(gateway.Endpoint, "POST", SealApi.UnsealPath, new UnsealBody(Passphrase: GatewayServer.Passphrase), signed: false);
        Assert.Equal(HttpStatusCode.OK, unsealStatus);
        Assert.False(unsealed.GetProperty("sealed").GetBoolean());
        await Task.Delay(400);
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        var whileSealed = calls.Where(c => c.Start > sealedAt && c.End < unsealingAt).ToList();
        Assert.True(whileSealed.Count >= 20, $"only {whileSealed.Count} calls ran while sealed");
        Assert.All(whileSealed, c => Assert.False(c.Ok, $"a {c.Kind} was answered while sealed"));
        Assert.All(whileSealed.Where(c => c.Kind != "decrypt"), c => Assert.Equal((503, "ServiceUnavailable"), (c.Status, c.Code)));
        Assert.All(whileSealed.Where(c => c.Kind == "decrypt"), c => Assert.Equal((503, "DependencyTimeoutException"), (c.Status, c.Code)));
        Assert.Contains(calls, c => c.Ok && c.Start > unsealingAt);
        Assert.Contains(calls, c => c.Ok && c.End < sealedAt);
        // Nothing failed for another reason than the seal.
        Assert.All(calls.Where(c => !c.Ok), c => Assert.Equal(503, c.Status));

        Assert.NotEmpty(acknowledged);
        foreach (var (name, digest) in acknowledged)
        {
            using var got = await s3.GetObjectAsync("load", name);
            var buffer = new MemoryStream();
            await got.ResponseStream.CopyToAsync(buffer);
            Assert.Equal(digest, SHA256.HashData(buffer.ToArray()));
        }
        var audit = gateway.Keys.ReadAudit(new Coffre.Kms.Audit.AuditFilter(), "test").Select(r => (r.Operation, r.Principal, r.Result)).ToList();
        Assert.Contains(("Seal", GatewayServer.AccessKey, "ok"), audit);
        Assert.Contains(("Unseal", SealApi.UnsealPrincipal, "ok"), audit);
        Assert.True(gateway.Keys.VerifyAudit("test").Ok);
    }

    [Fact]
    public async Task A_Shamir_root_starts_sealed_and_unseals_with_its_threshold_of_shares_through_the_admin_api()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("coffre-shamir-").FullName;
        var location = new DeploymentLocation(dataDirectory);
        var (init, shares) = await Deployment.InitializeShamirAsync(location, 3, 2, KmsOptions.InsecureForTests);
        init.Keys.CreateKey("default", null, KeyManager.SystemPrincipal);
        init.Dispose();
        using var deployment = await Deployment.OpenSealedAsync(location, KmsOptions.InsecureForTests);
        var options = new CoffreServerOptions
        {
            Listen = "127.0.0.1:0", AccessKeys = [AccessKeyOptions.WithAllGrants(GatewayServer.AccessKey, GatewayServer.SecretKey)],
            MaintenanceInterval = TimeSpan.FromHours(1),
        };
        var (app, endpoint) = await CoffreServer.StartInProcessAsync(options, deployment);
        endpoint = endpoint.TrimEnd('/');
        await using var _ = app;
        using var s3 = S3(endpoint);
        using var kms = Kms(endpoint);

        Assert.Equal((HttpStatusCode.ServiceUnavailable, "sealed\n"), await Health(endpoint));
        await s3.PutBucketAsync("bkt"); // no key needed
        var put = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.PutObjectAsync(new PutObjectRequest { BucketName = "bkt", Key = "k", ContentBody = "x" }));
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "ServiceUnavailable"), (put.StatusCode, put.ErrorCode));
        Assert.Contains("sealed", put.Message, StringComparison.OrdinalIgnoreCase);
        var keys = deployment.Keys;
        var keyId = keys.DescribeKey("default", "test").Id; // metadata stays readable while sealed
        var gen = await Assert.ThrowsAsync<DependencyTimeoutException>(() => kms.GenerateDataKeyAsync(new GenerateDataKeyRequest { KeyId = keyId, NumberOfBytes = 32 }));
        Assert.Contains("sealed", gen.Message, StringComparison.OrdinalIgnoreCase);

        var (s0, status) = await Admin(endpoint, "GET", SealApi.StatusPath, null, signed: false);
        Assert.Equal(HttpStatusCode.OK, s0);
        Assert.Equal((true, "shamir", 2, 3, 0), (status.GetProperty("sealed").GetBoolean(), status.GetProperty("root").GetString(),
            status.GetProperty("threshold").GetInt32(), status.GetProperty("shares").GetInt32(), status.GetProperty("progress").GetInt32()));

        // Sealing needs the admin grant: an unsigned seal is refused.
        Assert.Equal(HttpStatusCode.Forbidden, (await Admin(endpoint, "POST", SealApi.SealPath, null, signed: false)).Status);

        var (s1, first) = await Admin(endpoint, "POST", SealApi.UnsealPath, new UnsealBody(Share: shares[2]), signed: false);
        Assert.Equal((HttpStatusCode.OK, 1), (s1, first.GetProperty("progress").GetInt32()));
        // A tampered share is refused, names nothing of the others, and resets the attempt.
        var tampered = shares[1][..^3] + (shares[1][^3] == 'A' ? "B" : "A") + shares[1][^2..];
        var (s2, refused) = await Admin(endpoint, "POST", SealApi.UnsealPath, new UnsealBody(Share: tampered), signed: false);
        Assert.Equal((HttpStatusCode.BadRequest, "UnsealRefused"), (s2, refused.GetProperty("code").GetString()));
        Assert.DoesNotContain(shares[2][14..], refused.GetProperty("message").GetString());
        Assert.Equal(0, (await Admin(endpoint, "GET", SealApi.StatusPath, null, signed: false)).Body.GetProperty("progress").GetInt32());

        await Admin(endpoint, "POST", SealApi.UnsealPath, new UnsealBody(Share: shares[2]), signed: false);
        var (s3Status, done) = await Admin(endpoint, "POST", SealApi.UnsealPath, new UnsealBody(Share: shares[0]), signed: false);
        Assert.Equal(HttpStatusCode.OK, s3Status);
        Assert.False(done.GetProperty("sealed").GetBoolean());
        Assert.Equal((HttpStatusCode.OK, "ok\ndatabase keys reachable\ndatabase catalog reachable\n"), await Health(endpoint));
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "bkt", Key = "k", ContentBody = "after unseal" });
        using var got = await s3.GetObjectAsync("bkt", "k");
        Assert.Equal("after unseal", await new StreamReader(got.ResponseStream).ReadToEndAsync());
        await app.StopAsync();
    }
}
