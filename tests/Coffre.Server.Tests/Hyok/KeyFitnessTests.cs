using System.Net;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.Kms;
using Coffre.Kms.Keys;
using Coffre.Server.Cse;
using Coffre.Server.Dke;
using Coffre.Server.Ekm;
using Coffre.Server.Hosting;
using Coffre.Server.Tests.Gateway;
using Coffre.Server.Tests.Xks;
using Coffre.Server.Xks;
using KeySpec = Coffre.Kms.Keys.KeySpec;

namespace Coffre.Server.Tests.Hyok;

/// <summary>
/// A key that cannot serve a face: refused at start-up when the configuration names it (every such key listed), and
/// answered with the face's own error, never a 500, when reached another way (a key created later under a configured
/// name, a request naming it).
/// </summary>
public sealed class KeyFitnessTests
{
    [Fact]
    public async Task Start_up_lists_every_configured_key_that_cannot_serve_its_face()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("coffre-keyfit-").FullName;
        try
        {
            using var deployment = await Deployment.InitializeAsync(new DeploymentLocation(dataDirectory, null), GatewayServer.Passphrase, KmsOptions.InsecureForTests);
            var keys = deployment.Keys;
            keys.CreateKey("default", null, KeyManager.SystemPrincipal);
            keys.CreateKey("rsa-enc", null, KeyManager.SystemPrincipal, spec: KeySpec.Rsa2048, usage: KeyUsage.EncryptDecrypt);
            keys.CreateKey("signer", null, KeyManager.SystemPrincipal, spec: KeySpec.Rsa2048, usage: KeyUsage.SignVerify);
            var options = new CoffreServerOptions
            {
                Listen = "127.0.0.1:0",
                BucketKeys = new() { ["photos"] = "rsa-enc", ["notes"] = "default", ["later"] = "not-created-yet" },
                Xks = new XksOptions { Stores = [new XksStoreOptions { Keys = new() { ["foo"] = new() { Key = "signer" }, ["bar"] = new() { Key = "default" } } }] },
                Cse = new CseOptions { Url = "https://kacls.example.test/v1", Key = "rsa-enc" },
                Ekm = new EkmOptions { PathPrefix = "/ekm/v0", Keys = new() { ["bq"] = new EkmKeyOptions { Key = "signer" } } },
                Dke = new DkeOptions
                {
                    Url = "https://dke.example.test/dke",
                    Keys = new() { ["aes"] = new DkeKeyOptions { Key = "default" }, ["sign"] = new DkeKeyOptions { Key = "signer" }, ["ok"] = new DkeKeyOptions { Key = "rsa-enc" } },
                },
            };

            var problems = ConfigurationCheck.KeyProblems(options, keys);
            Assert.Equal(
                ["Coffre:BucketKeys:photos", "Coffre:Xks:Stores:0:Keys:foo:Key", "Coffre:Cse:Key", "Coffre:Ekm:Keys:bq:Key", "Coffre:Dke:Keys:aes:Key", "Coffre:Dke:Keys:sign:Key"],
                problems.Select(p => p[..p.IndexOf(": ", StringComparison.Ordinal)]));
            Assert.Contains("RSA_2048", problems[0]);
            Assert.Contains("SYMMETRIC_DEFAULT", problems[4]);

            // The server refuses to start on them, listing them with the other problems of the configuration.
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => CoffreServer.StartInProcessAsync(
                new CoffreServerOptions { Listen = "127.0.0.1:0", BucketKeys = new() { ["photos"] = "rsa-enc" }, Cse = new CseOptions { Url = "https://kacls.example.test/v1", Key = "signer" } },
                deployment));
            Assert.Contains("Coffre:BucketKeys:photos: 'rsa-enc' is an RSA_2048 key", refused.Message);
            Assert.Contains("Coffre:Cse:Key: 'signer'", refused.Message);
            Assert.Contains("Coffre:Cse:AuthorizationIssuers", refused.Message);
        }
        finally
        {
            try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task An_rsa_key_reached_through_s3_or_kms_gets_InvalidKeyUsage_not_a_500()
    {
        await using var gateway = await GatewayServer.StartAsync(configure: o => o.BucketKeys["late"] = "late-rsa");
        // Created after start-up under the name the configuration gives the bucket, so only the request can refuse it.
        var rsa = gateway.Keys.CreateKey("late-rsa", null, KeyManager.SystemPrincipal, spec: KeySpec.Rsa2048, usage: KeyUsage.EncryptDecrypt);
        using var s3 = gateway.CreateClient();

        var bucket = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.PutBucketAsync("late"));
        Assert.Equal((HttpStatusCode.BadRequest, "KMS.InvalidKeyUsageException"), (bucket.StatusCode, bucket.ErrorCode));
        Assert.Contains("late-rsa", bucket.Message);

        await s3.PutBucketAsync("fine");
        var sseKms = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = "fine", Key = "o", ContentBody = "hello",
            ServerSideEncryptionMethod = ServerSideEncryptionMethod.AWSKMS, ServerSideEncryptionKeyManagementServiceKeyId = rsa.Id,
        }));
        Assert.Equal((HttpStatusCode.BadRequest, "KMS.InvalidKeyUsageException"), (sseKms.StatusCode, sseKms.ErrorCode));

        using var kms = new AmazonKeyManagementServiceClient(new BasicAWSCredentials(GatewayServer.AccessKey, GatewayServer.SecretKey),
            new AmazonKeyManagementServiceConfig { ServiceURL = gateway.Endpoint, AuthenticationRegion = "us-east-1", UseHttp = true, MaxErrorRetry = 0 });
        var dataKey = await Assert.ThrowsAsync<InvalidKeyUsageException>(() => kms.GenerateDataKeyAsync(new GenerateDataKeyRequest { KeyId = rsa.Id, KeySpec = DataKeySpec.AES_256 }));
        Assert.Equal(HttpStatusCode.BadRequest, dataKey.StatusCode);
        await Assert.ThrowsAsync<InvalidKeyUsageException>(() => kms.EncryptAsync(new EncryptRequest { KeyId = rsa.Id, Plaintext = new MemoryStream([1, 2, 3]) }));
    }

    [Fact]
    public async Task An_rsa_key_reached_through_xks_gets_InvalidKeyUsageException()
    {
        await using var xks = await XksTestServer.StartAsync(o => o.Xks.Stores[0].Keys["rsa"] = new XksKeyOptions { Key = "late-rsa", Usage = ["ENCRYPT", "DECRYPT"] });
        xks.Keys.CreateKey("late-rsa", null, KeyManager.SystemPrincipal, spec: KeySpec.Rsa2048, usage: KeyUsage.EncryptDecrypt);

        var metadata = await xks.PostAsync(xks.Url("keys/rsa/metadata"), new { requestMetadata = XksTestServer.Metadata("DescribeKey") });
        Assert.Equal((400, "InvalidKeyUsageException"), (metadata.Status, metadata.ErrorName));
        var encrypt = await xks.PostAsync(xks.Url("keys/rsa/encrypt"), XksTestServer.EncryptBody(new byte[32]));
        Assert.Equal((400, "InvalidKeyUsageException"), (encrypt.Status, encrypt.ErrorName));
    }

    [Fact]
    public void The_bearer_token_faces_answer_a_key_of_the_wrong_kind_with_a_client_visible_error()
    {
        // CSE and EKM reach their key through EncryptAsync/DecryptAsync, DKE through the RSA operations: each table maps the
        // key manager's refusal of the wrong kind of key to an answer of its own, not to its 500.
        Assert.Equal(403, CseErrors.Status(CseErrors.From(KmsError.InvalidKeyUsage)));
        Assert.Equal(400, EkmErrors.Status(EkmErrors.From(KmsError.InvalidKeyUsage)));
        Assert.Equal(400, DkeErrors.Status(DkeErrors.From(KmsError.InvalidKeyUsage)));
        Assert.Equal(400, DkeErrors.Status(DkeErrors.From(KmsError.UnsupportedOperation)));
    }
}
