using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Server.Cse;
using Coffre.Server.Hosting;
using Coffre.Server.Tests.Gateway;
using Coffre.TestSupport;

namespace Coffre.Server.Tests.Hyok;

/// <summary>
/// The Google Workspace CSE key service face over real HTTP (in-process Kestrel), with tokens signed by test issuers standing
/// for Google (authorization) and the organisation's identity provider (authentication).
/// </summary>
public sealed class CseFaceTests : IAsyncLifetime
{
    private const string KaclsUrl = "https://kacls.example.test/v1";
    private const string Alice = "alice@example.test";
    private const string Resource = "//googleapis.com/drive/files/abc123";
    private const string GoogleOrigin = "https://client-side-encryption.google.com";
    private readonly TestIssuer _google = new("gsuitecse-tokenissuer-drive@system.gserviceaccount.com", "cse-authorization");
    private readonly TestIssuer _idp = new("https://idp.example.test", "kacls-audience");
    private GatewayServer _gateway = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _gateway = await GatewayServer.StartAsync(configure: o => o.Cse = new CseOptions
        {
            Url = KaclsUrl,
            Key = "workspace",
            AuthorizationIssuers = [_google.Options()],
            AuthenticationIssuers = [_idp.Options()],
            Perimeters = new() { ["finance"] = ["@example.test"], ["board"] = ["ceo@example.test"], ["*"] = ["*"] },
            PrivilegedUsers = ["admin@example.test"],
        });
        _gateway.Keys.CreateKey("workspace", "CSE key", KeyManager.SystemPrincipal);
        _http = new HttpClient { BaseAddress = new Uri(_gateway.Endpoint) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _gateway.DisposeAsync();
        _google.Dispose();
        _idp.Dispose();
    }

    private string Authorization(string role, string email = Alice, string resource = Resource, string perimeter = "", TimeSpan? expires = null,
        string kaclsUrl = KaclsUrl, string? audience = null) =>
        _google.Token(new Dictionary<string, object>
        {
            ["email"] = email, ["role"] = role, ["resource_name"] = resource, ["perimeter_id"] = perimeter, ["kacls_url"] = kaclsUrl,
        }, expires, audience);

    private string Authentication(string email = Alice) => _idp.Token(new Dictionary<string, object> { ["email"] = email });

    private async Task<(HttpStatusCode Status, JsonElement Body)> Post(string operation, object body, string? origin = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/" + operation)
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        if (origin is not null) request.Headers.Add("Origin", origin);
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static void AssertError(HttpStatusCode status, CseError error, (HttpStatusCode Status, JsonElement Body) r)
    {
        Assert.Equal(status, r.Status);
        Assert.Equal((int)status, r.Body.GetProperty("code").GetInt32());
        Assert.Equal(error.ToString(), r.Body.GetProperty("details").GetString());
        Assert.False(string.IsNullOrWhiteSpace(r.Body.GetProperty("message").GetString()));
    }

    private static readonly byte[] Dek = Convert.FromHexString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");

    private async Task<string> Wrap(string perimeter = "", string resource = Resource)
    {
        var r = await Post("wrap", new
        {
            authorization = Authorization("writer", resource: resource, perimeter: perimeter), authentication = Authentication(),
            key = Convert.ToBase64String(Dek), reason = "{\"client\":\"drive\",\"op\":\"update\"}",
        });
        Assert.Equal(HttpStatusCode.OK, r.Status);
        return r.Body.GetProperty("wrapped_key").GetString()!;
    }

    private IReadOnlyList<AuditRecord> CseAudit() =>
        _gateway.Keys.ReadAudit(new AuditFilter { Context = new Dictionary<string, string> { ["coffre:face"] = "cse" } }, "test");

    private static JsonElement Context(AuditRecord r) => JsonDocument.Parse(r.Context!).RootElement;

    [Fact]
    public async Task Wrap_then_unwrap_gives_back_the_data_key_and_both_are_audited_with_caller_and_reason()
    {
        var wrapped = await Wrap();
        Assert.True(Convert.FromBase64String(wrapped).Length <= CseWrappedKey.MaxBytes);
        var r = await Post("unwrap", new
        {
            authorization = Authorization("reader"), authentication = Authentication(Alice.ToUpperInvariant()), wrapped_key = wrapped,
            reason = "{\"client\":\"drive\",\"op\":\"read\"}",
        });
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal(Dek, Convert.FromBase64String(r.Body.GetProperty("key").GetString()!));

        var audit = CseAudit();
        Assert.Equal(["Encrypt", "Decrypt"], audit.Select(a => a.Operation));
        Assert.All(audit, a => Assert.Equal(Alice, a.Principal));
        Assert.All(audit, a => Assert.Equal("ok", a.Result));
        Assert.All(audit, a => Assert.Equal("workspace", a.KeyName));
        var unwrap = Context(audit[1]);
        Assert.Equal("unwrap", unwrap.GetProperty("cse:operation").GetString());
        Assert.Equal("reader", unwrap.GetProperty("cse:role").GetString());
        Assert.Equal(Resource, unwrap.GetProperty("cse:resource_name").GetString());
        Assert.Equal("{\"client\":\"drive\",\"op\":\"read\"}", unwrap.GetProperty("cse:reason").GetString());
        Assert.DoesNotContain(Convert.ToBase64String(Dek), string.Join("\n", audit.Select(a => a.Context)));
    }

    [Fact]
    public async Task Unwrap_for_another_resource_is_refused_and_audited()
    {
        var wrapped = await Wrap();
        var r = await Post("unwrap", new { authorization = Authorization("reader", resource: "//googleapis.com/drive/files/other"), authentication = Authentication(), wrapped_key = wrapped });
        AssertError(HttpStatusCode.BadRequest, CseError.InvalidWrappedKey, r);
        var refused = CseAudit().Last();
        Assert.Equal(("Decrypt", "InvalidCiphertext", Alice), (refused.Operation, refused.Result, refused.Principal));
    }

    [Fact]
    public async Task A_modified_wrapped_key_is_refused()
    {
        var wrapped = Convert.FromBase64String(await Wrap());
        wrapped[^1] ^= 1;
        AssertError(HttpStatusCode.BadRequest, CseError.InvalidWrappedKey,
            await Post("unwrap", new { authorization = Authorization("reader"), authentication = Authentication(), wrapped_key = Convert.ToBase64String(wrapped) }));
        AssertError(HttpStatusCode.BadRequest, CseError.InvalidWrappedKey,
            await Post("unwrap", new { authorization = Authorization("reader"), authentication = Authentication(), wrapped_key = "bm90IG91cnM=" }));
    }

    public static TheoryData<string, string, HttpStatusCode, CseError> TokenRefusals => new()
    {
        { "expired", "authorization token has expired", HttpStatusCode.Unauthorized, CseError.Unauthenticated },
        { "wrong-audience", "not meant for this server", HttpStatusCode.Unauthorized, CseError.Unauthenticated },
        { "wrong-kacls-url", "another key service", HttpStatusCode.Unauthorized, CseError.Unauthenticated },
        { "forged", "signature does not verify", HttpStatusCode.Unauthorized, CseError.Unauthenticated },
        { "reader-wraps", "role 'reader' may not wrap", HttpStatusCode.Forbidden, CseError.Forbidden },
        { "emails-differ", "not for the same user", HttpStatusCode.Forbidden, CseError.Forbidden },
        { "perimeter", "perimeter rule refuses", HttpStatusCode.Forbidden, CseError.Forbidden },
        { "idp-expired", "authentication token has expired", HttpStatusCode.Unauthorized, CseError.Unauthenticated },
    };

    [Theory]
    [MemberData(nameof(TokenRefusals))]
    public async Task Wrap_refusals_answer_their_error_and_are_audited_with_face_caller_and_reason(string kase, string message, HttpStatusCode status, CseError error)
    {
        var claims = new Dictionary<string, object>
        {
            ["email"] = Alice, ["role"] = "writer", ["resource_name"] = Resource, ["perimeter_id"] = "", ["kacls_url"] = KaclsUrl,
        };
        var authorization = kase switch
        {
            "expired" => Authorization("writer", expires: TimeSpan.FromMinutes(-5)),
            "wrong-audience" => Authorization("writer", audience: "someone-else"),
            "wrong-kacls-url" => Authorization("writer", kaclsUrl: "https://evil.example.test/v1"),
            "forged" => _google.ForgedToken(claims),
            "reader-wraps" => Authorization("reader"),
            "perimeter" => Authorization("writer", perimeter: "board"),
            _ => Authorization("writer"),
        };
        var authentication = kase switch
        {
            "emails-differ" => Authentication("mallory@example.test"),
            "idp-expired" => _idp.Token(new Dictionary<string, object> { ["email"] = Alice }, TimeSpan.FromMinutes(-5)),
            _ => Authentication(),
        };
        var r = await Post("wrap", new { authorization, authentication, key = Convert.ToBase64String(Dek), reason = "case " + kase });
        AssertError(status, error, r);
        Assert.Contains(message, r.Body.GetProperty("message").GetString());

        var record = Assert.Single(CseAudit());
        Assert.Equal(("Encrypt", "AccessDenied", "workspace"), (record.Operation, record.Result, record.KeyName));
        // The caller is known once Google's token verifies; before that, the refusal is recorded as unauthenticated.
        Assert.Equal(kase is "expired" or "wrong-audience" or "forged" ? CseOperations.Unauthenticated : Alice, record.Principal);
        var context = Context(record);
        Assert.Equal("case " + kase, context.GetProperty("cse:reason").GetString());
        Assert.Contains(message, context.GetProperty("cse:refusal").GetString());
        Assert.DoesNotContain("eyJ", record.Context); // no token in the trail
    }

    [Fact]
    public async Task The_perimeter_rule_applies_to_the_perimeter_bound_to_the_wrapped_key()
    {
        var wrapped = await Wrap(perimeter: "finance");
        // Bob is outside example.test: the finance perimeter refuses him even with a valid reader token.
        var bob = "bob@elsewhere.test";
        var r = await Post("unwrap", new { authorization = Authorization("reader", email: bob), authentication = Authentication(bob), wrapped_key = wrapped });
        AssertError(HttpStatusCode.Forbidden, CseError.Forbidden, r);
        Assert.Contains("perimeter 'finance'", r.Body.GetProperty("message").GetString());
        var ok = await Post("unwrap", new { authorization = Authorization("reader"), authentication = Authentication(), wrapped_key = wrapped });
        Assert.Equal(HttpStatusCode.OK, ok.Status);
    }

    [Fact]
    public async Task A_disabled_key_refuses_wrap_unwrap_and_status_and_enabling_it_restores_them()
    {
        var wrapped = await Wrap();
        _gateway.Keys.DisableKey("workspace", "test");
        AssertError(HttpStatusCode.Forbidden, CseError.KeyUnavailable,
            await Post("unwrap", new { authorization = Authorization("reader"), authentication = Authentication(), wrapped_key = wrapped }));
        AssertError(HttpStatusCode.Forbidden, CseError.KeyUnavailable,
            await Post("wrap", new { authorization = Authorization("writer"), authentication = Authentication(), key = Convert.ToBase64String(Dek) }));
        using (var status = await _http.GetAsync("/v1/status")) Assert.Equal(HttpStatusCode.Forbidden, status.StatusCode);
        Assert.Equal(["Disabled", "Disabled"], CseAudit().Where(a => a.Result != "ok").Select(a => a.Result));

        _gateway.Keys.EnableKey("workspace", "test");
        var r = await Post("unwrap", new { authorization = Authorization("reader"), authentication = Authentication(), wrapped_key = wrapped });
        Assert.Equal(HttpStatusCode.OK, r.Status);
    }

    [Fact]
    public async Task Rotation_keeps_old_wrapped_keys_readable_and_rewrap_moves_them_to_the_new_version()
    {
        var wrapped = await Wrap(perimeter: "finance");
        _gateway.Keys.RotateKey("workspace", "test");
        var r = await Post("rewrap", new { authorization = Authorization("migrator"), original_kacls_url = KaclsUrl, wrapped_key = wrapped, reason = "migration" });
        Assert.Equal(HttpStatusCode.OK, r.Status);
        // Google's construction, computed here independently of the face.
        var expected = HMACSHA256.HashData(Dek, Encoding.UTF8.GetBytes($"ResourceKeyDigest:{Resource}:finance"));
        Assert.Equal(expected, Convert.FromBase64String(r.Body.GetProperty("resource_key_hash").GetString()!));
        var rewrapped = r.Body.GetProperty("wrapped_key").GetString()!;
        Assert.NotEqual(wrapped, rewrapped);

        var digest = await Post("digest", new { authorization = Authorization("verifier"), wrapped_key = rewrapped });
        Assert.Equal(expected, Convert.FromBase64String(digest.Body.GetProperty("resource_key_hash").GetString()!));
        var unwrap = await Post("unwrap", new { authorization = Authorization("reader"), authentication = Authentication(), wrapped_key = rewrapped });
        Assert.Equal(Dek, Convert.FromBase64String(unwrap.Body.GetProperty("key").GetString()!));
        Assert.Equal([1, 2, 2], CseAudit().Where(a => a.Operation == "Encrypt" || Context(a).GetProperty("cse:operation").GetString() == "digest")
            .Select(a => a.KeyVersion ?? 0));

        AssertError(HttpStatusCode.Forbidden, CseError.Forbidden,
            await Post("rewrap", new { authorization = Authorization("migrator"), original_kacls_url = "https://other-vendor.test/v1", wrapped_key = wrapped }));
        AssertError(HttpStatusCode.Forbidden, CseError.Forbidden,
            await Post("rewrap", new { authorization = Authorization("reader"), original_kacls_url = KaclsUrl, wrapped_key = wrapped }));
    }

    [Fact]
    public async Task Privileged_operations_need_a_listed_administrator()
    {
        var admin = "admin@example.test";
        var w = await Post("privilegedwrap", new { authentication = Authentication(admin), key = Convert.ToBase64String(Dek), resource_name = Resource, perimeter_id = "board", reason = "import" });
        Assert.Equal(HttpStatusCode.OK, w.Status);
        var wrapped = w.Body.GetProperty("wrapped_key").GetString()!;
        var u = await Post("privilegedunwrap", new { authentication = Authentication(admin), resource_name = Resource, wrapped_key = wrapped, reason = "takeout" });
        Assert.Equal(HttpStatusCode.OK, u.Status);
        Assert.Equal(Dek, Convert.FromBase64String(u.Body.GetProperty("key").GetString()!));
        Assert.Equal("board", u.Body.GetProperty("perimeter_id").GetString());

        AssertError(HttpStatusCode.Forbidden, CseError.Forbidden,
            await Post("privilegedunwrap", new { authentication = Authentication(), resource_name = Resource, wrapped_key = wrapped }));
        AssertError(HttpStatusCode.BadRequest, CseError.InvalidWrappedKey,
            await Post("privilegedunwrap", new { authentication = Authentication(admin), resource_name = "another", wrapped_key = wrapped }));
    }

    [Fact]
    public async Task Status_answers_the_documented_shape()
    {
        using var response = await _http.GetAsync("/v1/status");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("KACLS", body.GetProperty("server_type").GetString());
        Assert.Contains("privilegedunwrap", body.GetProperty("operations_supported").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Cors_allows_googles_client_origin_only()
    {
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/v1/wrap");
        preflight.Headers.Add("Origin", GoogleOrigin);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        using (var response = await _http.SendAsync(preflight))
        {
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            Assert.Equal(GoogleOrigin, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
            Assert.Contains("POST", response.Headers.GetValues("Access-Control-Allow-Methods").Single());
        }
        using var evil = new HttpRequestMessage(HttpMethod.Options, "/v1/wrap");
        evil.Headers.Add("Origin", "https://evil.example.test");
        using (var response = await _http.SendAsync(evil))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        }
        using var post = new HttpRequestMessage(HttpMethod.Post, "/v1/wrap") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        post.Headers.Add("Origin", GoogleOrigin);
        using (var response = await _http.SendAsync(post))
            Assert.Equal(GoogleOrigin, response.Headers.GetValues("Access-Control-Allow-Origin").Single()); // even on an error, so the browser shows it
    }

    [Fact]
    public async Task Bad_input_is_a_400_never_a_500()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/wrap") { Content = new StringContent("{not json", Encoding.UTF8, "application/json") };
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        AssertError(HttpStatusCode.BadRequest, CseError.BadRequest, await Post("wrap", new { authorization = Authorization("writer"), authentication = Authentication(), key = "!!!" }));
        AssertError(HttpStatusCode.BadRequest, CseError.BadRequest,
            await Post("wrap", new { authorization = Authorization("writer"), authentication = Authentication(), key = Convert.ToBase64String(new byte[129]) }));
        AssertError(HttpStatusCode.Unauthorized, CseError.Unauthenticated, await Post("unwrap", new { wrapped_key = "AAAA" }));
        AssertError(HttpStatusCode.MethodNotAllowed, CseError.MethodNotAllowed, await Post("status", new { }));
        AssertError(HttpStatusCode.BadRequest, CseError.BadRequest,
            await Post("wrap", new { authorization = Authorization("writer"), authentication = Authentication(), key = 12 }));
        // A member the face does not read may be of any type (Google may add some).
        var r = await Post("wrap", new { authorization = Authorization("writer"), authentication = Authentication(), key = Convert.ToBase64String(Dek), extra = new { a = 1 } });
        Assert.Equal(HttpStatusCode.OK, r.Status);
    }

    [Fact]
    public async Task Requests_are_counted_under_the_cse_face()
    {
        await Wrap();
        var metrics = await _http.GetStringAsync("/metrics");
        Assert.Contains("coffre_requests_total{face=\"cse\",operation=\"wrap\",code=\"OK\"} 1", metrics);
    }

    [Fact]
    public void Configuration_problems_are_listed_up_front()
    {
        var problems = ConfigurationCheck.Validate(new CoffreServerOptions
        {
            Cse = new CseOptions { Url = "http://kacls.example.test/v1", Perimeters = new() { ["x"] = ["not-an-address"] } },
        });
        Assert.Contains(problems, p => p.StartsWith("Coffre:Cse:Url:"));
        Assert.Contains(problems, p => p.StartsWith("Coffre:Cse:Key:"));
        Assert.Contains(problems, p => p.StartsWith("Coffre:Cse:AuthorizationIssuers:"));
        Assert.Contains(problems, p => p.StartsWith("Coffre:Cse:Perimeters:x:"));
    }
}
