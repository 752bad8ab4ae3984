using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Server.Ekm;
using Coffre.Server.Hosting;
using Coffre.Server.Tests.Gateway;
using Coffre.TestSupport;

namespace Coffre.Server.Tests.Hyok;

/// <summary>The Cloud EKM face over real HTTP with bearer tokens from a test issuer, and its Key Access Justifications policy.</summary>
public sealed class EkmFaceTests : IAsyncDisposable
{
    private const string Caller = "ekm-service@gcp-sa-ekms.iam.gserviceaccount.test";
    private readonly TestIssuer _google = new("https://accounts.google.test", "https://ekm.example.test/ekm/v0");
    private GatewayServer _gateway = null!;
    private HttpClient _http = null!;

    private async Task StartAsync(string missingJustification = "Refuse")
    {
        _gateway = await GatewayServer.StartAsync(configure: o => o.Ekm = new EkmOptions
        {
            PathPrefix = "/ekm/v0",
            Issuers = [_google.Options()],
            MissingJustification = missingJustification,
            Keys = new()
            {
                ["bigquery"] = new EkmKeyOptions { Key = "cloud", AllowedReasons = ["CUSTOMER_INITIATED_ACCESS", "GOOGLE_INITIATED_SYSTEM_OPERATION"] },
                ["other"] = new EkmKeyOptions { Key = "cloud", AllowedReasons = ["CUSTOMER_INITIATED_ACCESS"] },
            },
        });
        _gateway.Keys.CreateKey("cloud", "EKM key", KeyManager.SystemPrincipal);
        _http = new HttpClient { BaseAddress = new Uri(_gateway.Endpoint) };
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _gateway.DisposeAsync();
        _google.Dispose();
    }

    private string Token(TimeSpan? expires = null, string? audience = null) =>
        _google.Token(new Dictionary<string, object> { ["email"] = Caller }, expires, audience);

    private async Task<(HttpStatusCode Status, JsonElement Body)> Post(string keyAndVerb, object body, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/ekm/v0/keys/" + keyAndVerb)
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token ?? Token());
        using var response = await _http.SendAsync(request);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private static object Reason(string reason) => new { reason };

    private static void AssertError(HttpStatusCode status, string grpcStatus, (HttpStatusCode Status, JsonElement Body) r)
    {
        Assert.Equal(status, r.Status);
        var error = r.Body.GetProperty("error");
        Assert.Equal((int)status, error.GetProperty("code").GetInt32());
        Assert.Equal(grpcStatus, error.GetProperty("status").GetString());
    }

    private IReadOnlyList<AuditRecord> EkmAudit() =>
        _gateway.Keys.ReadAudit(new AuditFilter { Context = new Dictionary<string, string> { ["coffre:face"] = "ekm" } }, "test");

    private const string Key = "c2VjcmV0LWtleS1tYXRlcmlhbC0zMi1ieXRlcyEhISE=";
    private const string Aad = "cHJvamVjdHMvcC9sb2NhdGlvbnMvZXU=";

    private async Task<string> Wrap(string key = "bigquery")
    {
        var r = await Post(key + ":wrap", new { plaintext = Key, additionalAuthenticatedData = Aad, accessReasonContext = Reason("CUSTOMER_INITIATED_ACCESS") });
        Assert.Equal(HttpStatusCode.OK, r.Status);
        return r.Body.GetProperty("wrappedBlob").GetString()!;
    }

    [Fact]
    public async Task Wrap_and_unwrap_with_an_allowed_justification_and_the_reason_in_the_audit()
    {
        await StartAsync();
        var blob = await Wrap();
        var r = await Post("bigquery:unwrap", new { wrappedBlob = blob, additionalAuthenticatedData = Aad, accessReasonContext = Reason("GOOGLE_INITIATED_SYSTEM_OPERATION") });
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal(Key, r.Body.GetProperty("plaintext").GetString());
        var audit = EkmAudit();
        Assert.Equal(["Encrypt", "Decrypt"], audit.Select(a => a.Operation));
        Assert.All(audit, a => Assert.Equal((Caller, "ok", "cloud"), (a.Principal, a.Result, a.KeyName)));
        var context = JsonDocument.Parse(audit[1].Context!).RootElement;
        Assert.Equal("GOOGLE_INITIATED_SYSTEM_OPERATION", context.GetProperty("ekm:reason").GetString());
        Assert.Equal("bigquery", context.GetProperty("ekm:key").GetString());
        Assert.Equal("unwrap", context.GetProperty("ekm:operation").GetString());
    }

    [Theory]
    [InlineData("GOOGLE_INITIATED_SERVICE")]
    [InlineData("THIRD_PARTY_DATA_REQUEST")]
    public async Task A_justification_the_key_does_not_allow_is_refused_and_recorded(string reason)
    {
        await StartAsync();
        var blob = await Wrap();
        var r = await Post("bigquery:unwrap", new { wrappedBlob = blob, additionalAuthenticatedData = Aad, accessReasonContext = Reason(reason) });
        AssertError(HttpStatusCode.Forbidden, "PERMISSION_DENIED", r);
        Assert.Contains(reason, r.Body.GetProperty("error").GetProperty("message").GetString());
        Assert.False(r.Body.TryGetProperty("plaintext", out _));
        var refused = EkmAudit().Last();
        Assert.Equal(("Decrypt", "AccessDenied", Caller, "cloud"), (refused.Operation, refused.Result, refused.Principal, refused.KeyName));
        var context = JsonDocument.Parse(refused.Context!).RootElement;
        Assert.Equal(reason, context.GetProperty("ekm:reason").GetString());
        Assert.Contains("not allowed", context.GetProperty("ekm:refusal").GetString());
    }

    [Fact]
    public async Task A_missing_justification_is_refused_by_default()
    {
        await StartAsync();
        var r = await Post("bigquery:wrap", new { plaintext = Key });
        AssertError(HttpStatusCode.Forbidden, "PERMISSION_DENIED", r);
        Assert.Equal(AccessReasons.Missing, JsonDocument.Parse(EkmAudit().Single().Context!).RootElement.GetProperty("ekm:reason").GetString());
    }

    [Fact]
    public async Task A_missing_justification_is_accepted_and_recorded_when_configured()
    {
        await StartAsync(missingJustification: "Allow");
        var r = await Post("bigquery:wrap", new { plaintext = Key });
        Assert.Equal(HttpStatusCode.OK, r.Status);
        var record = EkmAudit().Single();
        Assert.Equal("ok", record.Result);
        Assert.Equal(AccessReasons.Missing, JsonDocument.Parse(record.Context!).RootElement.GetProperty("ekm:reason").GetString());
    }

    [Fact]
    public async Task Bad_tokens_are_unauthenticated_and_recorded()
    {
        await StartAsync();
        var body = new { plaintext = Key, accessReasonContext = Reason("CUSTOMER_INITIATED_ACCESS") };
        AssertError(HttpStatusCode.Unauthorized, "UNAUTHENTICATED", await Post("bigquery:wrap", body, Token(TimeSpan.FromMinutes(-5))));
        AssertError(HttpStatusCode.Unauthorized, "UNAUTHENTICATED", await Post("bigquery:wrap", body, Token(audience: "https://elsewhere.test")));
        AssertError(HttpStatusCode.Unauthorized, "UNAUTHENTICATED", await Post("bigquery:wrap", body, _google.ForgedToken(new Dictionary<string, object> { ["email"] = Caller })));
        AssertError(HttpStatusCode.Unauthorized, "UNAUTHENTICATED", await Post("bigquery:wrap", body, "not-a-jwt"));
        Assert.Equal(4, EkmAudit().Count(a => a.Principal == EkmOperations.Unauthenticated && a.Result == "AccessDenied"));
    }

    [Fact]
    public async Task A_blob_unwraps_only_under_its_key_uri_and_aad()
    {
        await StartAsync();
        var blob = await Wrap();
        var reason = Reason("CUSTOMER_INITIATED_ACCESS");
        AssertError(HttpStatusCode.BadRequest, "INVALID_ARGUMENT", await Post("other:unwrap", new { wrappedBlob = blob, additionalAuthenticatedData = Aad, accessReasonContext = reason }));
        AssertError(HttpStatusCode.BadRequest, "INVALID_ARGUMENT", await Post("bigquery:unwrap", new { wrappedBlob = blob, accessReasonContext = reason }));
        AssertError(HttpStatusCode.NotFound, "NOT_FOUND", await Post("unknown:unwrap", new { wrappedBlob = blob, accessReasonContext = reason }));
        AssertError(HttpStatusCode.NotFound, "NOT_FOUND", await Post("bigquery:destroy", new { }));
        AssertError(HttpStatusCode.BadRequest, "INVALID_ARGUMENT", await Post("bigquery:wrap", new { plaintext = "%%%", accessReasonContext = reason }));
    }

    [Fact]
    public async Task A_disabled_key_is_refused_until_enabled()
    {
        await StartAsync();
        var blob = await Wrap();
        _gateway.Keys.DisableKey("cloud", "test");
        var body = new { wrappedBlob = blob, additionalAuthenticatedData = Aad, accessReasonContext = Reason("CUSTOMER_INITIATED_ACCESS") };
        AssertError(HttpStatusCode.BadRequest, "FAILED_PRECONDITION", await Post("bigquery:unwrap", body));
        Assert.Equal("Disabled", EkmAudit().Last().Result);
        _gateway.Keys.EnableKey("cloud", "test");
        Assert.Equal(HttpStatusCode.OK, (await Post("bigquery:unwrap", body)).Status);
    }

    [Fact]
    public async Task Configuration_problems_are_listed_up_front()
    {
        await StartAsync();
        var problems = ConfigurationCheck.Validate(new CoffreServerOptions
        {
            Ekm = new EkmOptions { PathPrefix = "/", Keys = new() { ["k"] = new EkmKeyOptions { Key = "cloud", AllowedReasons = ["BECAUSE"] } }, MissingJustification = "maybe" },
        });
        Assert.Contains(problems, p => p.StartsWith("Coffre:Ekm:PathPrefix:"));
        Assert.Contains(problems, p => p.StartsWith("Coffre:Ekm:Issuers:"));
        Assert.Contains(problems, p => p.StartsWith("Coffre:Ekm:Keys:k:AllowedReasons:") && p.Contains("BECAUSE"));
        Assert.Contains(problems, p => p.StartsWith("Coffre:Ekm:MissingJustification:"));
    }
}
