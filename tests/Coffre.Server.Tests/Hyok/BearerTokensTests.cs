using Coffre.Server.Tokens;
using Coffre.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace Coffre.Server.Tests.Hyok;

/// <summary>Token validation on its own: the cache of validated tokens keeps every refusal it would make without it.</summary>
public sealed class BearerTokensTests : IDisposable
{
    private readonly TestIssuer _issuer = new("https://idp.test", "kacls");

    public void Dispose() => _issuer.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_token_validated_once_is_refused_after_it_expires(bool cacheValidated)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var tokens = new BearerTokens([_issuer.Options()], time, cacheValidated);
        var token = _issuer.Token(new Dictionary<string, object> { ["email"] = "a@test" }, TimeSpan.FromMinutes(3));
        Assert.Equal("a@test", (await tokens.ValidateAsync(token, "token", default)).Claim("email"));
        Assert.Equal("a@test", (await tokens.ValidateAsync(token, "token", default)).Claim("email"));
        time.Advance(TimeSpan.FromMinutes(3) + BearerTokens.ClockSkew + TimeSpan.FromSeconds(5));
        var e = await Assert.ThrowsAsync<TokenException>(() => tokens.ValidateAsync(token, "token", default));
        Assert.Equal(TokenProblem.Expired, e.Problem);
    }

    [Fact]
    public async Task A_cached_token_never_vouches_for_another()
    {
        var tokens = new BearerTokens([_issuer.Options()], TimeProvider.System, cacheValidated: true);
        var token = _issuer.Token(new Dictionary<string, object> { ["email"] = "a@test" });
        await tokens.ValidateAsync(token, "token", default);
        var altered = token[..^2] + (token[^2] == 'A' ? "B" : "A") + token[^1];
        var e = await Assert.ThrowsAsync<TokenException>(() => tokens.ValidateAsync(altered, "token", default));
        Assert.Equal(TokenProblem.BadSignature, e.Problem);
        await Assert.ThrowsAsync<TokenException>(() => tokens.ValidateAsync(_issuer.ForgedToken(new Dictionary<string, object> { ["email"] = "a@test" }), "token", default));
    }
}
