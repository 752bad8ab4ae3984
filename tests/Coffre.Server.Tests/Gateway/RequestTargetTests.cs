using System.Net;
using Coffre.Server.Auth;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// Request targets a client crafts byte by byte: the face must route on exactly the path the signature covers, and
/// a key must have one spelling only (malformed percent-escapes are refused as S3 does, nothing stored).
/// </summary>
public sealed class RequestTargetTests(RequestTargetTests.Fixture fixture) : IClassFixture<RequestTargetTests.Fixture>
{
    public const string RestrictedKey = "AKIARESTRICTED000002";
    public const string RestrictedSecret = "restricted-secret-0000000000000000000002";

    public sealed class Fixture : IAsyncLifetime
    {
        public GatewayServer Gateway { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Gateway = await GatewayServer.StartAsync(configure: o => o.AccessKeys.Add(new AccessKeyOptions
            {
                AccessKeyId = RestrictedKey, SecretAccessKey = RestrictedSecret, Buckets = ["only-this"],
            }));
            using var s3 = Gateway.CreateClient();
            await s3.PutBucketAsync("only-this");
            await s3.PutBucketAsync("other");
            await s3.PutBucketAsync("keys");
            await s3.PutBytesAsync("other", "secret", "other bucket"u8.ToArray());
        }

        public async Task DisposeAsync() => await Gateway.DisposeAsync();
    }

    private GatewayServer Gateway => fixture.Gateway;

    [Fact]
    public async Task An_absolute_form_target_is_routed_on_the_path_it_was_signed_for()
    {
        // Signed for bucket only-this (the restricted key's), with dot segments that a normalised path would resolve
        // to the bucket "other".
        var target = $"{Gateway.Endpoint}/only-this/../other/secret";
        var r = await RawHttp.SendSignedAsync(Gateway, "GET", target, accessKey: RestrictedKey, secretKey: RestrictedSecret);
        Assert.DoesNotContain("other bucket", r.Body);
        Assert.Equal(404, r.Status);
        Assert.Equal("NoSuchKey", RawHttp.S3Code(r));

        // The same target in origin form is the key "../other/secret" of bucket only-this, too.
        var origin = await RawHttp.SendSignedAsync(Gateway, "GET", "/only-this/../other/secret", accessKey: RestrictedKey, secretKey: RestrictedSecret);
        Assert.Equal(404, origin.Status);
        Assert.Equal("NoSuchKey", RawHttp.S3Code(origin));

        // An absolute-form target without dot segments still works.
        var put = await RawHttp.SendSignedAsync(Gateway, "PUT", $"{Gateway.Endpoint}/only-this/plain", "abs"u8.ToArray(),
            accessKey: RestrictedKey, secretKey: RestrictedSecret);
        Assert.Equal(200, put.Status);
        using var s3 = Gateway.CreateClient();
        Assert.Equal("abs"u8.ToArray(), await s3.GetBytesAsync("only-this", "plain"));
    }

    [Theory]
    [InlineData("/keys/bad%FE")]          // a lone byte that is not UTF-8
    [InlineData("/keys/bad%ZZ")]          // not hexadecimal
    [InlineData("/keys/bad%")]            // a lone '%'
    [InlineData("/keys/bad%4")]           // one digit
    [InlineData("/keys/bad%C0%AF")]       // overlong '/'
    [InlineData("/keys/bad%ED%A0%80")]    // a UTF-16 surrogate
    [InlineData("/keys/bad%E2%82")]       // a truncated sequence
    public async Task A_key_with_a_malformed_escape_is_InvalidURI_and_nothing_is_stored(string target)
    {
        var put = await RawHttp.SendSignedAsync(Gateway, "PUT", target, "x"u8.ToArray());
        Assert.Equal(400, put.Status);
        Assert.Equal("InvalidURI", RawHttp.S3Code(put));
        var get = await RawHttp.SendSignedAsync(Gateway, "GET", target);
        Assert.Equal(400, get.Status);
        using var s3 = Gateway.CreateClient();
        var listed = await s3.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = "keys", Prefix = "bad" });
        Assert.Empty(listed.S3Objects ?? []);
    }

    [Fact]
    public async Task A_well_formed_escape_still_names_its_key()
    {
        var put = await RawHttp.SendSignedAsync(Gateway, "PUT", "/keys/caf%C3%A9%20%25FE", "ok"u8.ToArray());
        Assert.Equal(200, put.Status);
        using var s3 = Gateway.CreateClient();
        Assert.Equal("ok"u8.ToArray(), await s3.GetBytesAsync("keys", "café %FE"));
    }

    [Theory]
    [InlineData("/keys?list-type=2&prefix=%FE")]
    [InlineData("/keys?marker=%ZZ")]
    [InlineData("/keys?list-type=2&start-after=%C0%AF")]
    [InlineData("/keys?uploads&key-marker=%")]
    public async Task A_query_value_with_a_malformed_escape_is_InvalidURI(string target)
    {
        var r = await RawHttp.SendSignedAsync(Gateway, "GET", target);
        Assert.Equal(400, r.Status);
        Assert.Equal("InvalidURI", RawHttp.S3Code(r));
    }

    [Theory]
    [InlineData("other/secret%FE")]
    [InlineData("other/sec%ZZret")]
    public async Task A_copy_source_with_a_malformed_escape_is_InvalidURI_and_nothing_is_copied(string source)
    {
        using var response = await SendSignedAsync(Gateway, HttpMethod.Put, "/keys/copied", headers: [("x-amz-copy-source", source)]);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("InvalidURI", await ErrorCodeAsync(response));
        using var s3 = Gateway.CreateClient();
        var e = await Assert.ThrowsAnyAsync<Amazon.S3.AmazonS3Exception>(() => s3.GetObjectMetadataAsync("keys", "copied"));
        Assert.Equal(HttpStatusCode.NotFound, e.StatusCode);
    }

    [Fact]
    public async Task Customer_provided_key_headers_on_an_operation_that_takes_none_are_refused_never_ignored()
    {
        using var s3 = Gateway.CreateClient();
        await s3.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest { BucketName = "keys", Key = "kept", ContentBody = "x" });
        var key = new byte[32];
        (string, string)[] sseC =
        [
            ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
            ("x-amz-server-side-encryption-customer-key", Convert.ToBase64String(key)),
            ("x-amz-server-side-encryption-customer-key-MD5", Convert.ToBase64String(System.Security.Cryptography.MD5.HashData(key))),
        ];
        using (var delete = await SendSignedAsync(Gateway, HttpMethod.Delete, "/keys/kept", headers: sseC))
        {
            Assert.Equal(HttpStatusCode.NotImplemented, delete.StatusCode);
            Assert.Equal("NotImplemented", await ErrorCodeAsync(delete));
        }
        using (var list = await SendSignedAsync(Gateway, HttpMethod.Get, "/keys?list-type=2", headers: sseC))
            Assert.Equal(HttpStatusCode.NotImplemented, list.StatusCode);
        Assert.Equal("x"u8.ToArray(), await s3.GetBytesAsync("keys", "kept"));
    }
}
