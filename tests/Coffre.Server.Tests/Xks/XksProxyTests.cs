using System.Security.Cryptography;
using System.Text.Json;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using static Coffre.Server.Tests.Xks.XksTestServer;

namespace Coffre.Server.Tests.Xks;

/// <summary>
/// Every case of the XKS proxy API v1 specification against a real in-process gateway, driven by curl --aws-sigv4 (the
/// spec's own troubleshooting client) and by an in-process signer, with the audit trail checked for each answer.
/// </summary>
public sealed class XksProxyTests : IAsyncLifetime
{
    private XksTestServer _xks = null!;

    public async Task InitializeAsync() => _xks = await StartAsync();

    public async Task DisposeAsync() => await _xks.DisposeAsync();

    private static readonly byte[] HelloWorld = Utf8("Hello World!");
    private static readonly byte[] SpecAad = Utf8("project=nile,department=marketing");

    [Fact]
    public async Task Metadata_answers_key_spec_usages_and_status()
    {
        var both = await _xks.CurlAsync(_xks.Url("keys/foo/metadata"), new { requestMetadata = Metadata("DescribeKey") });
        Assert.Equal(200, both.Status);
        Assert.Equal("AES_256", both.Body.GetProperty("keySpec").GetString());
        Assert.Equal(["ENCRYPT", "DECRYPT"], both.Body.GetProperty("keyUsage").EnumerateArray().Select(u => u.GetString()));
        Assert.Equal("ENABLED", both.Body.GetProperty("keyStatus").GetString());

        var encryptOnly = await _xks.CurlAsync(_xks.Url("keys/enc-only/metadata"), new { requestMetadata = Metadata("CreateKey") });
        Assert.Equal(["ENCRYPT"], encryptOnly.Body.GetProperty("keyUsage").EnumerateArray().Select(u => u.GetString()));
    }

    [Fact]
    public async Task Encrypt_with_aad_and_integrity_value_decrypts_and_the_value_is_sha256_of_the_fields()
    {
        var encrypted = await _xks.CurlAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(HelloWorld, SpecAad));
        Assert.Equal(200, encrypted.Status);
        var (ciphertext, metadata, iv, tag) = (encrypted.Bytes("ciphertext"), encrypted.Bytes("ciphertextMetadata"),
            encrypted.Bytes("initializationVector"), encrypted.Bytes("authenticationTag"));
        Assert.Equal(HelloWorld.Length, ciphertext.Length);
        Assert.Equal(12, iv.Length);
        Assert.Equal(16, tag.Length);
        Assert.InRange(metadata.Length, 1, 20);
        Assert.NotEqual(HelloWorld, ciphertext);
        // Appendix C, computed here independently of the face.
        Assert.Equal(SHA256.HashData([.. SpecAad, .. metadata, .. iv, .. ciphertext, .. tag]), encrypted.Bytes("ciphertextDataIntegrityValue"));

        var decrypted = await _xks.CurlAsync(_xks.Url("keys/foo/decrypt"), DecryptBody(encrypted, SpecAad));
        Assert.Equal(200, decrypted.Status);
        Assert.Equal(HelloWorld, decrypted.Bytes("plaintext"));
    }

    [Fact]
    public async Task Without_aad_or_integrity_algorithm_there_is_no_integrity_value_and_decryption_works()
    {
        var encrypted = await _xks.CurlAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(HelloWorld, aad: null, integrity: false));
        Assert.Equal(200, encrypted.Status);
        Assert.False(encrypted.Body.TryGetProperty("ciphertextDataIntegrityValue", out _));
        var decrypted = await _xks.CurlAsync(_xks.Url("keys/foo/decrypt"), DecryptBody(encrypted));
        Assert.Equal(HelloWorld, decrypted.Bytes("plaintext"));

        var withIntegrity = await _xks.CurlAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(HelloWorld, aad: null, integrity: true));
        Assert.Equal(SHA256.HashData([.. withIntegrity.Bytes("ciphertextMetadata"), .. withIntegrity.Bytes("initializationVector"),
            .. withIntegrity.Bytes("ciphertext"), .. withIntegrity.Bytes("authenticationTag")]), withIntegrity.Bytes("ciphertextDataIntegrityValue"));
    }

    [Fact]
    public async Task The_largest_sizes_of_the_spec_round_trip_and_larger_ones_are_unsupported()
    {
        var plaintext = RandomNumberGenerator.GetBytes(4300);
        var aad = RandomNumberGenerator.GetBytes(8192);
        var encrypted = await _xks.CurlAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(plaintext, aad));
        Assert.Equal(200, encrypted.Status);
        Assert.Equal(plaintext, (await _xks.CurlAsync(_xks.Url("keys/foo/decrypt"), DecryptBody(encrypted, aad))).Bytes("plaintext"));

        var four = RandomNumberGenerator.GetBytes(4096);
        var eight = RandomNumberGenerator.GetBytes(8 * 1024);
        var kib = await _xks.CurlAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(four, eight));
        Assert.Equal(four, (await _xks.CurlAsync(_xks.Url("keys/foo/decrypt"), DecryptBody(kib, eight))).Bytes("plaintext"));

        var tooLong = await _xks.CurlAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(new byte[4301]));
        Assert.Equal((501, "UnsupportedOperationException"), (tooLong.Status, tooLong.ErrorName));
        var aadTooLong = await _xks.CurlAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(HelloWorld, new byte[8193]));
        Assert.Equal((501, "UnsupportedOperationException"), (aadTooLong.Status, aadTooLong.ErrorName));
    }

    [Fact]
    public async Task Wrong_aad_altered_fields_or_metadata_moved_into_the_aad_are_invalid_ciphertext()
    {
        var encrypted = await _xks.CurlAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(HelloWorld, SpecAad));
        var wrongAad = await _xks.CurlAsync(_xks.Url("keys/foo/decrypt"), DecryptBody(encrypted, Utf8("project=nile,department=sales")));
        Assert.Equal((400, "InvalidCiphertextException"), (wrongAad.Status, wrongAad.ErrorName));
        var noAad = await _xks.CurlAsync(_xks.Url("keys/foo/decrypt"), DecryptBody(encrypted));
        Assert.Equal("InvalidCiphertextException", noAad.ErrorName);

        foreach (var field in new[] { "ciphertext", "authenticationTag", "initializationVector", "ciphertextMetadata" })
        {
            var body = DecryptBody(encrypted, SpecAad);
            var bytes = encrypted.Bytes(field);
            bytes[^1] ^= 1;
            body[field] = Convert.ToBase64String(bytes);
            var answer = await _xks.CurlAsync(_xks.Url("keys/foo/decrypt"), body);
            Assert.True((answer.Status, answer.ErrorName) == (400, "InvalidCiphertextException"), $"{field}: {answer}");
        }

        // The spec's reason for the lengths: metadata passed as AAD, and no metadata, must not decrypt.
        var bare = await _xks.CurlAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(HelloWorld));
        var moved = DecryptBody(bare, bare.Bytes("ciphertextMetadata"));
        moved.Remove("ciphertextMetadata");
        Assert.Equal("InvalidCiphertextException", (await _xks.CurlAsync(_xks.Url("keys/foo/decrypt"), moved)).ErrorName);
    }

    [Fact]
    public async Task Unknown_external_key_and_missing_coffre_key_are_key_not_found()
    {
        var unknown = await _xks.CurlAsync(_xks.Url("keys/nope/encrypt"), EncryptBody(HelloWorld));
        Assert.Equal((404, "KeyNotFoundException"), (unknown.Status, unknown.ErrorName));
        var ghost = await _xks.CurlAsync(_xks.Url("keys/ghost/metadata"), new { requestMetadata = Metadata("DescribeKey") });
        Assert.Equal((404, "KeyNotFoundException"), (ghost.Status, ghost.ErrorName));
        // Another store's key is not this store's.
        var other = await _xks.CurlAsync(_xks.Url("keys/bar/metadata"), new { requestMetadata = Metadata("DescribeKey") });
        Assert.Equal((404, "KeyNotFoundException"), (other.Status, other.ErrorName));
    }

    [Fact]
    public async Task Bad_credentials_are_authentication_failed()
    {
        var wrongSecret = await _xks.CurlAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(HelloWorld), secret: OtherSecret);
        Assert.Equal((401, "AuthenticationFailedException"), (wrongSecret.Status, wrongSecret.ErrorName));
        var unknownId = await _xks.CurlAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(HelloWorld), accessKeyId: "UNKNOWNACCESSKEY234567");
        Assert.Equal((401, "AuthenticationFailedException"), (unknownId.Status, unknownId.ErrorName));
        // A Coffre access key is not an XKS credential.
        var coffreKey = await _xks.CurlAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(HelloWorld),
            accessKeyId: Gateway.GatewayServer.AccessKey, secret: Gateway.GatewayServer.SecretKey);
        Assert.Equal((401, "AuthenticationFailedException"), (coffreKey.Status, coffreKey.ErrorName));
        // A body changed after signing.
        using var http = new HttpClient();
        var stale = await _xks.PostAsync(_xks.Url("keys/foo/metadata"), new { requestMetadata = Metadata("DescribeKey") },
            time: DateTimeOffset.UtcNow.AddMinutes(-6));
        Assert.Equal((401, "AuthenticationFailedException"), (stale.Status, stale.ErrorName));
        var unsigned = await http.PostAsync(_xks.Url("health"), new StringContent("{}"));
        Assert.Equal(401, (int)unsigned.StatusCode);
    }

    [Fact]
    public async Task A_path_outside_the_store_prefix_is_invalid_uri_path()
    {
        var badPrefix = await _xks.CurlAsync(_xks.Url("keys/foo/encrypt", prefix: "wrong/prefix"), EncryptBody(HelloWorld));
        Assert.Equal((404, "InvalidUriPathException"), (badPrefix.Status, badPrefix.ErrorName));
        // The other store's prefix with this store's credentials.
        var otherPrefix = await _xks.CurlAsync(_xks.Url("health", prefix: OtherPrefix), new { requestMetadata = Metadata("KmsHealthCheck") });
        Assert.Equal((404, "InvalidUriPathException"), (otherPrefix.Status, otherPrefix.ErrorName));
        var badOperation = await _xks.CurlAsync(_xks.Url("keys/foo/sign"), EncryptBody(HelloWorld));
        Assert.Equal((404, "InvalidUriPathException"), (badOperation.Status, badOperation.ErrorName));
        // And the other store answers under its own prefix with its own credentials.
        var other = await _xks.CurlAsync(_xks.Url("keys/bar/metadata", prefix: OtherPrefix), new { requestMetadata = Metadata("DescribeKey") },
            OtherAccessKeyId, OtherSecret);
        Assert.Equal(200, other.Status);
    }

    [Fact]
    public async Task A_key_restricted_to_one_use_refuses_the_other_with_invalid_key_usage()
    {
        var encrypted = await _xks.CurlAsync(_xks.Url("keys/enc-only/encrypt"), EncryptBody(HelloWorld, SpecAad));
        Assert.Equal(200, encrypted.Status);
        var refused = await _xks.CurlAsync(_xks.Url("keys/enc-only/decrypt"), DecryptBody(encrypted, SpecAad));
        Assert.Equal((400, "InvalidKeyUsageException"), (refused.Status, refused.ErrorName));
        // Same Coffre key behind dec-only: it decrypts what enc-only encrypted, and refuses to encrypt.
        Assert.Equal(HelloWorld, (await _xks.CurlAsync(_xks.Url("keys/dec-only/decrypt"), DecryptBody(encrypted, SpecAad))).Bytes("plaintext"));
        var noEncrypt = await _xks.CurlAsync(_xks.Url("keys/dec-only/encrypt"), EncryptBody(HelloWorld));
        Assert.Equal((400, "InvalidKeyUsageException"), (noEncrypt.Status, noEncrypt.ErrorName));
    }

    [Fact]
    public async Task Health_answers_fleet_details_and_get_is_method_not_allowed()
    {
        var health = await _xks.CurlAsync(_xks.Url("health"), new { requestMetadata = new { kmsRequestId = "1124f4d6", kmsOperation = "KmsHealthCheck" } });
        Assert.Equal(200, health.Status);
        Assert.Equal(1, health.Body.GetProperty("xksProxyFleetSize").GetInt32());
        Assert.Equal("Coffre", health.Body.GetProperty("xksProxyVendor").GetString());
        Assert.StartsWith("Coffre XKS proxy", health.Body.GetProperty("xksProxyModel").GetString());
        Assert.Equal("Coffre", health.Body.GetProperty("ekmVendor").GetString());
        var fleet = health.Body.GetProperty("ekmFleetDetails").EnumerateArray().ToList();
        Assert.Single(fleet);
        Assert.Equal(_xks.Keys.DeploymentId, fleet[0].GetProperty("id").GetString());
        // The store maps "ghost" to a key that does not exist: it still serves the others.
        Assert.Equal("DEGRADED", fleet[0].GetProperty("healthStatus").GetString());
        var other = await _xks.CurlAsync(_xks.Url("health", OtherPrefix), new { requestMetadata = new { kmsRequestId = "1", kmsOperation = "KmsHealthCheck" } },
            OtherAccessKeyId, OtherSecret);
        Assert.Equal("ACTIVE", other.Body.GetProperty("ekmFleetDetails")[0].GetProperty("healthStatus").GetString());

        using var http = new HttpClient();
        foreach (var path in new[] { "health", "keys/foo/encrypt", "keys/foo/metadata" })
        {
            var get = await http.GetAsync(_xks.Url(path));
            Assert.Equal(405, (int)get.StatusCode);
        }
        // The load balancers' check stays a plain GET.
        Assert.Equal(200, (int)(await http.GetAsync(_xks.Gateway.Endpoint + "/healthz")).StatusCode);
    }

    [Fact]
    public async Task A_key_disabled_in_coffre_is_refused_as_invalid_state_and_reported_disabled()
    {
        var encrypted = await _xks.CurlAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(HelloWorld));
        _xks.Keys.DisableKey("finance", KeyManager.SystemPrincipal);

        var encrypt = await _xks.CurlAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(HelloWorld));
        Assert.Equal((400, "InvalidStateException"), (encrypt.Status, encrypt.ErrorName));
        var decrypt = await _xks.CurlAsync(_xks.Url("keys/foo/decrypt"), DecryptBody(encrypted));
        Assert.Equal((400, "InvalidStateException"), (decrypt.Status, decrypt.ErrorName));
        var metadata = await _xks.CurlAsync(_xks.Url("keys/foo/metadata"), new { requestMetadata = Metadata("DescribeKey") });
        Assert.Equal("DISABLED", metadata.Body.GetProperty("keyStatus").GetString());

        _xks.Keys.EnableKey("finance", KeyManager.SystemPrincipal);
        Assert.Equal(HelloWorld, (await _xks.CurlAsync(_xks.Url("keys/foo/decrypt"), DecryptBody(encrypted))).Bytes("plaintext"));
    }

    [Fact]
    public async Task After_rotation_old_and_new_ciphertexts_decrypt_and_name_their_versions()
    {
        var before = await _xks.PostAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(HelloWorld, SpecAad));
        _xks.Keys.RotateKey("finance", KeyManager.SystemPrincipal);
        var after = await _xks.PostAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(HelloWorld, SpecAad));
        Assert.NotEqual(before.Bytes("ciphertextMetadata"), after.Bytes("ciphertextMetadata"));
        Assert.Equal(HelloWorld, (await _xks.PostAsync(_xks.Url("keys/foo/decrypt"), DecryptBody(before, SpecAad))).Bytes("plaintext"));
        Assert.Equal(HelloWorld, (await _xks.PostAsync(_xks.Url("keys/foo/decrypt"), DecryptBody(after, SpecAad))).Bytes("plaintext"));
        var records = _xks.Keys.ReadAudit(new AuditFilter { Operation = "ExternalDecrypt", Key = "finance" }, KeyManager.SystemPrincipal);
        Assert.Equal([1, 2], records.Select(r => r.KeyVersion!.Value));
    }

    [Fact]
    public async Task Malformed_requests_are_validation_errors()
    {
        var noMetadata = await _xks.PostAsync(_xks.Url("keys/foo/encrypt"), new { plaintext = "SGVsbG8=", encryptionAlgorithm = "AES_GCM" });
        Assert.Equal((400, "ValidationException"), (noMetadata.Status, noMetadata.ErrorName));
        var body = EncryptBody(HelloWorld);
        ((Dictionary<string, object?>)body["requestMetadata"]!).Remove("kmsRequestId");
        Assert.Equal("ValidationException", (await _xks.PostAsync(_xks.Url("keys/foo/encrypt"), body)).ErrorName);
        var algorithm = EncryptBody(HelloWorld);
        algorithm["encryptionAlgorithm"] = "AES_CBC";
        Assert.Equal("ValidationException", (await _xks.PostAsync(_xks.Url("keys/foo/encrypt"), algorithm)).ErrorName);
        var integrity = EncryptBody(HelloWorld);
        integrity["ciphertextDataIntegrityValueAlgorithm"] = "MD5";
        Assert.Equal("ValidationException", (await _xks.PostAsync(_xks.Url("keys/foo/encrypt"), integrity)).ErrorName);
        var base64 = EncryptBody(HelloWorld);
        base64["plaintext"] = "not base64!";
        Assert.Equal("ValidationException", (await _xks.PostAsync(_xks.Url("keys/foo/encrypt"), base64)).ErrorName);
        var notJson = await _xks.PostAsync(_xks.Url("keys/foo/encrypt"), "{not json"u8.ToArray());
        Assert.Equal((400, "ValidationException"), (notJson.Status, notJson.ErrorName));
        // An unknown kmsOperation is not a reason to refuse (spec).
        var future = EncryptBody(HelloWorld);
        ((Dictionary<string, object?>)future["requestMetadata"]!)["kmsOperation"] = "BulkEncrypt";
        Assert.Equal(200, (await _xks.PostAsync(_xks.Url("keys/foo/encrypt"), future)).Status);
    }

    [Fact]
    public async Task Every_answer_and_refusal_is_in_the_audit_trail_with_face_caller_request_metadata_and_reason()
    {
        var ok = Guid.NewGuid().ToString();
        var encrypted = await _xks.CurlAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(HelloWorld, requestId: ok));
        Assert.Equal(200, encrypted.Status);
        var refusedUsage = Guid.NewGuid().ToString();
        await _xks.CurlAsync(_xks.Url("keys/enc-only/decrypt"), DecryptBody(encrypted, requestId: refusedUsage));
        var badAad = Guid.NewGuid().ToString();
        await _xks.CurlAsync(_xks.Url("keys/foo/decrypt"), DecryptBody(encrypted, SpecAad, requestId: badAad));
        var badCredentials = Guid.NewGuid().ToString();
        await _xks.CurlAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(HelloWorld, requestId: badCredentials), secret: OtherSecret);

        AuditRecord One(string requestId)
        {
            var records = _xks.Keys.ReadAudit(new AuditFilter { Context = new Dictionary<string, string> { ["coffre:face"] = "xks" } },
                KeyManager.SystemPrincipal).Where(r => r.Context!.Contains(requestId)).ToList();
            return Assert.Single(records);
        }

        var success = One(ok);
        Assert.Equal(("xks:" + AccessKeyId, "ExternalEncrypt", "ok", "finance", 1), (success.Principal, success.Operation, success.Result, success.KeyName, success.KeyVersion));
        var context = JsonDocument.Parse(success.Context!).RootElement;
        Assert.Equal("arn:aws:iam::123456789012:user/Alice", context.GetProperty("xks:awsPrincipalArn").GetString());
        Assert.Equal("arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", context.GetProperty("xks:kmsKeyArn").GetString());
        Assert.Equal("Encrypt", context.GetProperty("xks:kmsOperation").GetString());
        Assert.Equal("ebs", context.GetProperty("xks:kmsViaService").GetString());
        Assert.Equal("vpce-0123456789abcdef0", context.GetProperty("xks:awsSourceVpce").GetString());
        Assert.Equal("foo", context.GetProperty("xks:externalKeyId").GetString());
        Assert.Equal(Prefix, context.GetProperty("xks:uriPrefix").GetString());
        Assert.DoesNotContain(Convert.ToBase64String(HelloWorld), success.Context);

        var usage = One(refusedUsage);
        Assert.Equal(("ExternalDecrypt", "AccessDenied"), (usage.Operation, usage.Result));
        Assert.Equal("InvalidKeyUsageException", JsonDocument.Parse(usage.Context!).RootElement.GetProperty("xks:error").GetString());
        Assert.Contains("ENCRYPT only", JsonDocument.Parse(usage.Context!).RootElement.GetProperty("coffre:reason").GetString());

        var aad = One(badAad);
        Assert.Equal(("ExternalDecrypt", "InvalidCiphertext", "finance"), (aad.Operation, aad.Result, aad.KeyName));

        // An unauthenticated body is not read: the record names the claimed access key id and the reason.
        var credentials = Assert.Single(_xks.Keys.ReadAudit(new AuditFilter
        {
            Context = new Dictionary<string, string> { ["coffre:face"] = "xks", ["xks:error"] = "AuthenticationFailedException" },
        }, KeyManager.SystemPrincipal));
        Assert.DoesNotContain(badCredentials, credentials.Context);
        Assert.Equal(("xks:" + AccessKeyId, "ExternalEncrypt", "AccessDenied"), (credentials.Principal, credentials.Operation, credentials.Result));
        Assert.Contains("signature", JsonDocument.Parse(credentials.Context!).RootElement.GetProperty("coffre:reason").GetString(),
            StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(OtherSecret, credentials.Context);
        Assert.True(_xks.Keys.VerifyAudit(KeyManager.SystemPrincipal).Ok);
    }

    [Fact]
    public async Task Metrics_count_the_face_as_xks()
    {
        await _xks.CurlAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(HelloWorld));
        await _xks.CurlAsync(_xks.Url("keys/nope/encrypt"), EncryptBody(HelloWorld));
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(_xks.Gateway.Endpoint + "/metrics");
        Assert.Contains("coffre_requests_total{face=\"xks\",operation=\"Encrypt\",code=\"OK\"} 1", metrics);
        Assert.Contains("coffre_requests_total{face=\"xks\",operation=\"Encrypt\",code=\"KeyNotFoundException\"} 1", metrics);
    }

    [Fact]
    public async Task The_s3_face_still_answers_beside_it()
    {
        using var s3 = _xks.Gateway.CreateClient();
        await s3.PutBucketAsync("beside-xks");
        await s3.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest { BucketName = "beside-xks", Key = "k", ContentBody = "still here" });
        using var get = await s3.GetObjectAsync("beside-xks", "k");
        Assert.Equal("still here", await new StreamReader(get.ResponseStream).ReadToEndAsync());
    }
}
