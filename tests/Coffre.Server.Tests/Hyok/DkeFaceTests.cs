using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Server.Dke;
using Coffre.Server.Tests.Gateway;
using Coffre.TestSupport;

namespace Coffre.Server.Tests.Hyok;

/// <summary>The Microsoft DKE face over real HTTP, with Entra ID-like tokens from a test issuer and a client that encrypts
/// to the published JWK with python3-cryptography (tools/rsa_cross_check.py), as Office does with the key it fetched.</summary>
public sealed class DkeFaceTests : IAsyncDisposable
{
    private const string Url = "https://dke.example.test/dke";
    private const string Alice = "alice@example.test";
    private readonly TestIssuer _entra = new("https://login.microsoftonline.test/tenant/v2.0", "api://dke.example.test");
    private GatewayServer _gateway = null!;
    private HttpClient _http = null!;

    private async Task StartAsync()
    {
        _gateway = await GatewayServer.StartAsync(configure: o => o.Dke = new DkeOptions
        {
            Url = Url,
            Issuers = [_entra.Options()],
            Keys = new()
            {
                ["finance"] = new DkeKeyOptions { Key = "dke-finance", AuthorizedEmails = [Alice], AuthorizedRoles = ["DKE.Readers"] },
            },
        });
        _gateway.Keys.CreateKey("dke-finance", null, KeyManager.SystemPrincipal, spec: KeySpec.Rsa2048, usage: KeyUsage.EncryptDecrypt);
        _http = new HttpClient { BaseAddress = new Uri(_gateway.Endpoint) };
    }

    public async ValueTask DisposeAsync()
    {
        _http?.Dispose();
        if (_gateway is not null) await _gateway.DisposeAsync();
        _entra.Dispose();
    }

    private string Token(string? email = Alice, string[]? roles = null, TimeSpan? expires = null, string? audience = null)
    {
        var claims = new Dictionary<string, object> { ["sub"] = "user-object-id" };
        if (email is not null) claims["upn"] = email;
        if (roles is not null) claims["roles"] = roles;
        return _entra.Token(claims, expires, audience);
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> Send(HttpMethod method, string path, object? body = null, string? token = null)
    {
        using var request = new HttpRequestMessage(method, "/dke/" + path);
        if (body is not null) request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        if (token != "") request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token ?? Token());
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text.Length == 0 ? "{}" : text).RootElement.Clone());
    }

    private async Task<JsonElement> PublicKey()
    {
        var r = await Send(HttpMethod.Get, "finance");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        return r.Body.GetProperty("key");
    }

    /// <summary>What Office does: RSA-OAEP-256 to the JWK's n and e, done by an independent implementation.</summary>
    private static string EncryptWithPython(JsonElement key, byte[] plaintext)
    {
        var (code, stdout, stderr) = Python("encrypt-jwk", key.GetProperty("n").GetString()!, key.GetProperty("e").GetInt64().ToString(), Convert.ToBase64String(plaintext));
        Assert.True(code == 0, stderr);
        return stdout.Trim();
    }

    internal static (int Code, string Out, string Err) Python(params string[] args)
    {
        Assert.True(File.Exists("/usr/bin/python3"), "Debian's python3 is required (scripts/test.sh installs it)");
        var root = Tools.FindRepositoryRoot();
        Assert.True(root is not null, "the repository (tools/rsa_cross_check.py) was not found above the test directory");
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(root, "tools", "rsa_cross_check.py"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.False(stderr.Contains("No module named 'cryptography'"), "python3-cryptography is required (scripts/test.sh installs it)");
        return (p.ExitCode, stdout, stderr);
    }

    private string KidPath(JsonElement key) => key.GetProperty("kid").GetString()![(Url.Length + 1)..];

    private IReadOnlyList<AuditRecord> DkeAudit() =>
        _gateway.Keys.ReadAudit(new AuditFilter { Context = new Dictionary<string, string> { [AuditFace.ContextMember] = AuditFace.Dke } }, "test");

    [Fact]
    public async Task The_public_key_is_a_jwk_that_decrypts_what_a_client_encrypted_to_it()
    {
        await StartAsync();
        var r = await Send(HttpMethod.Get, "finance");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        var key = r.Body.GetProperty("key");
        Assert.Equal(("RSA", "RS256"), (key.GetProperty("kty").GetString(), key.GetProperty("alg").GetString()));
        var id = _gateway.Keys.DescribeKey("dke-finance", "test").Id;
        Assert.Equal($"{Url}/finance/{id}.1", key.GetProperty("kid").GetString());
        Assert.True(DateTimeOffset.Parse(r.Body.GetProperty("cache").GetProperty("exp").GetString()!) > DateTimeOffset.UtcNow.AddHours(23));
        // The JWK is the key manager's public key (checked with .NET's RSA).
        using var rsa = RSA.Create();
        rsa.ImportSubjectPublicKeyInfo(_gateway.Keys.GetPublicKey("dke-finance", "test").SubjectPublicKeyInfo, out _);
        Assert.Equal(rsa.ExportParameters(false).Modulus, Convert.FromBase64String(key.GetProperty("n").GetString()!));
        Assert.Equal(65537, key.GetProperty("e").GetInt64());

        var secret = RandomNumberGenerator.GetBytes(32);
        var d = await Send(HttpMethod.Post, KidPath(key) + "/decrypt", new { alg = "RSA-OAEP-256", value = EncryptWithPython(key, secret) });
        Assert.Equal(HttpStatusCode.OK, d.Status);
        Assert.Equal(secret, Convert.FromBase64String(d.Body.GetProperty("value").GetString()!));

        var audit = DkeAudit();
        Assert.Equal(["GetPublicKey", "Decrypt"], audit.Where(a => a.Principal == Alice).Select(a => a.Operation));
        Assert.All(audit.Where(a => a.Principal == Alice), a => Assert.Equal(("ok", "dke-finance"), (a.Result, a.KeyName)));
        Assert.Equal(1, audit.Last().KeyVersion);
    }

    [Fact]
    public async Task After_a_rotation_the_new_key_is_published_and_documents_of_the_old_version_still_open()
    {
        await StartAsync();
        var old = await PublicKey();
        var oldSecret = RandomNumberGenerator.GetBytes(32);
        var oldCiphertext = EncryptWithPython(old, oldSecret);
        _gateway.Keys.RotateKey("dke-finance", "test");
        var fresh = await PublicKey();
        Assert.EndsWith(".2", fresh.GetProperty("kid").GetString());
        Assert.NotEqual(old.GetProperty("n").GetString(), fresh.GetProperty("n").GetString());

        var d = await Send(HttpMethod.Post, KidPath(old) + "/decrypt", new { alg = "RSA-OAEP-256", value = oldCiphertext });
        Assert.Equal(HttpStatusCode.OK, d.Status);
        Assert.Equal(oldSecret, Convert.FromBase64String(d.Body.GetProperty("value").GetString()!));
        // The kid names the version: the old ciphertext does not open under the new one.
        var wrong = await Send(HttpMethod.Post, KidPath(fresh) + "/decrypt", new { alg = "RSA-OAEP-256", value = oldCiphertext });
        Assert.Equal((HttpStatusCode.BadRequest, "InvalidCiphertext"), (wrong.Status, wrong.Body.GetProperty("error").GetString()));
    }

    [Fact]
    public async Task A_disabled_key_refuses_both_calls_and_the_refusals_are_audited()
    {
        await StartAsync();
        var key = await PublicKey();
        var ciphertext = EncryptWithPython(key, [1, 2, 3]);
        _gateway.Keys.DisableKey("dke-finance", "test");
        var get = await Send(HttpMethod.Get, "finance");
        var decrypt = await Send(HttpMethod.Post, KidPath(key) + "/decrypt", new { alg = "RSA-OAEP-256", value = ciphertext });
        Assert.Equal((HttpStatusCode.Forbidden, "KeyUnavailable"), (get.Status, get.Body.GetProperty("error").GetString()));
        Assert.Equal((HttpStatusCode.Forbidden, "KeyUnavailable"), (decrypt.Status, decrypt.Body.GetProperty("error").GetString()));
        Assert.False(decrypt.Body.TryGetProperty("value", out _));
        var refused = DkeAudit().TakeLast(2).ToList();
        Assert.Equal(["GetPublicKey", "Decrypt"], refused.Select(a => a.Operation));
        Assert.All(refused, a => Assert.Equal(("Disabled", Alice), (a.Result, a.Principal)));
    }

    [Fact]
    public async Task Bad_tokens_are_401_and_unauthorized_callers_403_all_recorded()
    {
        await StartAsync();
        var key = await PublicKey();
        var ciphertext = EncryptWithPython(key, [9, 9]);
        var path = KidPath(key) + "/decrypt";
        var body = new { alg = "RSA-OAEP-256", value = ciphertext };
        foreach (var token in new[] { "", "not-a-jwt", Token(expires: TimeSpan.FromMinutes(-30)), Token(audience: "api://other"),
            _entra.ForgedToken(new Dictionary<string, object> { ["upn"] = Alice }) })
        {
            var r = await Send(HttpMethod.Post, path, body, token);
            Assert.Equal((HttpStatusCode.Unauthorized, "Unauthorized"), (r.Status, r.Body.GetProperty("error").GetString()));
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(HttpMethod.Get, "finance", token: "")).Status);

        var bob = await Send(HttpMethod.Post, path, body, Token("bob@example.test"));
        Assert.Equal((HttpStatusCode.Forbidden, "Forbidden"), (bob.Status, bob.Body.GetProperty("error").GetString()));
        // A role listed for the key authorizes without a listed email; emails compare case-insensitively.
        Assert.Equal(HttpStatusCode.OK, (await Send(HttpMethod.Post, path, body, Token("bob@example.test", roles: ["DKE.Readers"]))).Status);
        Assert.Equal(HttpStatusCode.OK, (await Send(HttpMethod.Post, path, body, Token("ALICE@example.test"))).Status);

        var audit = DkeAudit();
        static string? Error(AuditRecord a) => JsonDocument.Parse(a.Context!).RootElement.TryGetProperty("dke:error", out var e) ? e.GetString() : null;
        Assert.Equal(6, audit.Count(a => Error(a) == "Unauthorized" && a.Principal == DkeFace.Unauthenticated && a.Result == "AccessDenied"));
        var forbidden = Assert.Single(audit, a => Error(a) == "Forbidden");
        Assert.Equal(("Decrypt", "bob@example.test", "dke-finance"), (forbidden.Operation, forbidden.Principal, forbidden.KeyName));
    }

    [Fact]
    public async Task Bad_requests_get_their_error_not_a_500()
    {
        await StartAsync();
        var key = await PublicKey();
        var path = KidPath(key) + "/decrypt";
        Assert.Equal(HttpStatusCode.BadRequest, (await Send(HttpMethod.Post, path, new { alg = "RSA1_5", value = "AAAA" })).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await Send(HttpMethod.Post, path, new { alg = "RSA-OAEP-256", value = "***" })).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await Send(HttpMethod.Post, path, new { alg = "RSA-OAEP-256", value = "AAAA" })).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Send(HttpMethod.Get, "nope")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Send(HttpMethod.Post, "finance/not-a-kid/decrypt", new { alg = "RSA-OAEP-256", value = "AAAA" })).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Send(HttpMethod.Post, $"finance/{Guid.NewGuid()}.1/decrypt", new { alg = "RSA-OAEP-256", value = "AAAA" })).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Send(HttpMethod.Post, path.Replace(".1/", ".7/"), new { alg = "RSA-OAEP-256", value = "AAAA" })).Status);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await Send(HttpMethod.Post, "finance", new { })).Status);
    }
}
