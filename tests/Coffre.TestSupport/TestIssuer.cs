using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Coffre.TestSupport;

/// <summary>
/// A token issuer of the tests' own: an RSA key generated here, its public half written as a JWKS file the server is
/// configured with, and tokens signed with it (no network, no Google). For the CSE and EKM tests and their benchmark.
/// </summary>
public sealed class TestIssuer : IDisposable
{
    private readonly RSA _rsa = RSA.Create(2048);
    private readonly RsaSecurityKey _key;
    private readonly string _directory = Directory.CreateTempSubdirectory("coffre-jwks-").FullName;

    public string Issuer { get; }
    public string Audience { get; }
    public string JwksPath { get; }

    public TestIssuer(string issuer, string audience)
    {
        Issuer = issuer;
        Audience = audience;
        _key = new RsaSecurityKey(_rsa) { KeyId = Guid.NewGuid().ToString("N") };
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(_rsa.ExportParameters(false)) { KeyId = _key.KeyId });
        JwksPath = Path.Combine(_directory, "jwks.json");
        File.WriteAllText(JwksPath, JsonSerializer.Serialize(new
        {
            keys = new[] { new { kty = jwk.Kty, kid = jwk.Kid, use = "sig", alg = "RS256", n = jwk.N, e = jwk.E } },
        }));
    }

    /// <summary>A signed token with these claims; <paramref name="expires"/> relative to now (negative: already expired).</summary>
    public string Token(IDictionary<string, object> claims, TimeSpan? expires = null, string? audience = null, string? issuer = null)
    {
        var now = DateTime.UtcNow;
        var exp = now + (expires ?? TimeSpan.FromMinutes(5));
        var issued = exp < now ? exp - TimeSpan.FromMinutes(10) : now;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = audience ?? Audience,
            IssuedAt = issued,
            NotBefore = issued,
            Expires = exp,
            Claims = claims,
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.RsaSha256),
        });
    }

    /// <summary>A token signed by another key than the one in the JWKS (same issuer name).</summary>
    public string ForgedToken(IDictionary<string, object> claims)
    {
        using var other = new TestIssuer(Issuer, Audience);
        return other.Token(claims);
    }

    public void Dispose()
    {
        _rsa.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
