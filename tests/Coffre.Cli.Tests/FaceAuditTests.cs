using System.Text;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.Kms;
using Coffre.Kms.Keys;
using Coffre.Objects;
using Coffre.Server.Xks;
using Coffre.TestSupport;

namespace Coffre.Cli.Tests;

/// <summary>
/// `coffre audit list --face` filters on the records' coffre:face member, and `coffre report keys` says per key which
/// faces used it and when last: records written as the XKS face writes them, and the S3 and KMS faces' key uses made by
/// real clients through a running `coffre serve`.
/// </summary>
public sealed class FaceAuditTests
{
    private const string Xks = "xks:XKSTESTACCESSKEY234567ABCD";

    [Fact]
    public async Task Audit_list_filters_by_face_and_report_keys_shows_each_face_and_its_last_use()
    {
        using var fx = new DataDirFixture();
        using (var deployment = Coffre.Server.Hosting.Deployment.Open(new Coffre.Server.Hosting.DeploymentLocation(fx.Data), Cli.Passphrase))
        {
            var keys = deployment.Keys;
            keys.CreateKey("finance", null, KeyManager.SystemPrincipal);
            keys.CreateKey("archive", null, KeyManager.SystemPrincipal);
            var context = XksRequest.AuditContext("prefix", "foo", [("kmsRequestId", "req-1"), ("awsPrincipalArn", "arn:aws:iam::123456789012:user/Alice")]);
            byte[] Aad(int version) => XksCiphertext.AssociatedData([], XksCiphertext.Metadata(version));
            var made = await keys.EncryptExternalAsync("finance", new byte[32], Aad, Xks, context);
            await keys.DecryptExternalAsync("finance", made.KeyVersion, made.Nonce, made.Ciphertext, made.Tag, Aad(made.KeyVersion), Xks, context);
            keys.DisableKey("finance", KeyManager.SystemPrincipal);
            await Assert.ThrowsAsync<KmsException>(() => keys.EncryptExternalAsync("finance", new byte[32], Aad, Xks, context));
            keys.EnableKey("finance", KeyManager.SystemPrincipal);
            using var dataKey = keys.GenerateDataKey("finance", new Dictionary<string, string>
            {
                [ObjectBinding.BucketContextKey] = "photos", [ObjectBinding.ObjectContextKey] = "cat.jpg",
            }, "AKIAGATEWAYCLIENT01");
        }

        var xks = fx.Run("audit", "list", "--face", "xks", "--json").Json().EnumerateArray().ToList();
        Assert.Equal(["ExternalEncrypt", "ExternalDecrypt", "ExternalEncrypt"], xks.Select(r => r.GetProperty("operation").GetString()));
        Assert.All(xks, r => Assert.Equal(("xks", Xks), (r.GetProperty("face").GetString(), r.GetProperty("principal").GetString())));
        Assert.Equal(["ok", "ok", "Disabled"], xks.Select(r => r.GetProperty("result").GetString()));
        Assert.Contains("req-1", xks[0].GetProperty("context").GetString());
        Assert.Empty(fx.Run("audit", "list", "--face", "cse", "--json").Json().EnumerateArray());
        Assert.Contains("xks", fx.Run("audit", "list", "--face", "xks").Ok().Stdout);
        Assert.Single(fx.Run("audit", "export", "--face", "xks", "--operation", "ExternalDecrypt").Ok().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var unknown = fx.Run("audit", "list", "--face", "ftp");
        Assert.NotEqual(0, unknown.ExitCode);

        var report = fx.Run("report", "keys", "--json").Json().EnumerateArray().ToDictionary(k => k.GetProperty("name").GetString()!);
        var faces = report["finance"].GetProperty("faces").EnumerateArray().ToDictionary(f => f.GetProperty("face").GetString()!);
        Assert.Equal(["s3", "xks"], faces.Keys.Order());
        Assert.Equal((2, 1), (faces["xks"].GetProperty("uses").GetInt64(), faces["xks"].GetProperty("refused").GetInt64()));
        Assert.Equal(1, faces["s3"].GetProperty("uses").GetInt64());
        var lastXks = faces["xks"].GetProperty("lastUse").GetDateTimeOffset();
        Assert.InRange(lastXks, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Empty(report["archive"].GetProperty("faces").EnumerateArray());
        var human = fx.Run("report", "keys").Ok().Stdout;
        // (Columns wrap in a narrow terminal: only words are checked.)
        Assert.True(human.Contains("xks: 2"), human);
    }

    [Fact]
    public async Task S3_and_kms_requests_to_a_running_server_are_listed_under_their_face()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        string keyId;
        using (var server = await CoffreServeProcess.StartAsync(data))
        {
            using (var s3 = new AmazonS3Client(new BasicAWSCredentials(CoffreServeProcess.AccessKey, CoffreServeProcess.SecretKey),
                       new AmazonS3Config { ServiceURL = server.Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1", UseHttp = true }))
            {
                await s3.PutBucketAsync("photos");
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = "photos", Key = "cat.jpg", ContentBody = "meow" });
                using var got = await s3.GetObjectAsync("photos", "cat.jpg");
                Assert.Equal("meow", await new StreamReader(got.ResponseStream).ReadToEndAsync());
            }

            var aws = File.Exists("/usr/bin/aws") ? "/usr/bin/aws" : throw new InvalidOperationException("AWS CLI v2 not found at /usr/bin/aws: apt-get install -y awscli");
            var environment = new Dictionary<string, string?>
            {
                ["AWS_ACCESS_KEY_ID"] = CoffreServeProcess.AccessKey, ["AWS_SECRET_ACCESS_KEY"] = CoffreServeProcess.SecretKey,
                ["AWS_DEFAULT_REGION"] = "us-east-1", ["AWS_CONFIG_FILE"] = "/dev/null", ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null", ["AWS_CA_BUNDLE"] = null,
            };
            // The AWS CLI starts slowly on a busy host: a generous bound, not a speed check.
            CliResult Aws(params string[] args) => Cli.Exec(aws, [.. args, "--endpoint-url", server.Endpoint, "--output", "json"], environment,
                timeout: TimeSpan.FromMinutes(5)).Ok();
            keyId = Aws("kms", "create-key").Json().GetProperty("KeyMetadata").GetProperty("KeyId").GetString()!;
            var plaintext = dir["secret.txt"];
            await File.WriteAllTextAsync(plaintext, "s3cr3t");
            var blob = Convert.FromBase64String(Aws("kms", "encrypt", "--key-id", keyId, "--plaintext", "fileb://" + plaintext, "--encryption-context", "purpose=audit")
                .Json().GetProperty("CiphertextBlob").GetString()!);
            await File.WriteAllBytesAsync(dir["blob.bin"], blob);
            var decrypted = Aws("kms", "decrypt", "--ciphertext-blob", "fileb://" + dir["blob.bin"], "--encryption-context", "purpose=audit").Json();
            Assert.Equal("s3cr3t", Encoding.UTF8.GetString(Convert.FromBase64String(decrypted.GetProperty("Plaintext").GetString()!)));
        }

        CliResult Coffre(params string[] args) => Cli.Run([.. args, "--data", data], passphrase: CoffreServeProcess.Passphrase);
        // The filter reads the member each record stores (not a guess from its other members), so a record without it is not listed.
        static Dictionary<string, string> Context(JsonElement record) =>
            JsonSerializer.Deserialize<Dictionary<string, string>>(record.GetProperty("context").GetString()!)!;

        var s3Records = Coffre("audit", "list", "--face", "s3", "--json").Ok().Json().EnumerateArray().ToList();
        // The PUT: the object's data key and its manifest's (docs/format.md §12); the GET: the object's unwrap.
        Assert.Equal(["GenerateDataKey", "GenerateDataKey", "UnwrapDataKey"], s3Records.Select(r => r.GetProperty("operation").GetString()));
        Assert.All(s3Records, r => Assert.Equal(("s3", "ok", CoffreServeProcess.AccessKey),
            (Context(r)["coffre:face"], r.GetProperty("result").GetString(), r.GetProperty("principal").GetString())));
        // The manifest's key is bound to its blob, not to the object's name (which no provider may learn).
        Assert.Single(s3Records, r => Context(r).ContainsKey("coffre:manifest"));
        Assert.All(s3Records.Where(r => !Context(r).ContainsKey("coffre:manifest")), r =>
            Assert.Equal(("photos", "cat.jpg"), (Context(r)[ObjectBinding.BucketContextKey], Context(r)[ObjectBinding.ObjectContextKey])));

        var kmsRecords = Coffre("audit", "list", "--face", "kms", "--json").Ok().Json().EnumerateArray().ToList();
        Assert.Equal(["Encrypt", "Decrypt"], kmsRecords.Select(r => r.GetProperty("operation").GetString()));
        Assert.All(kmsRecords, r =>
        {
            Assert.Equal(("kms", "audit"), (Context(r)["coffre:face"], Context(r)["purpose"]));
            Assert.Equal(keyId, r.GetProperty("keyId").GetString());
        });
        Assert.Contains("kms", Coffre("audit", "list", "--face", "kms").Ok().Stdout);

        // The member is recorded, not bound: the chain verifies as before (docs/format.md §8).
        Assert.Equal(0, Coffre("audit", "verify").ExitCode);
    }
}
