using Coffre.Server.Tokens;
using Coffre.TestSupport;

namespace Coffre.Server.Tests.Hyok;

public static class TestIssuers
{
    /// <summary>The configuration entry that trusts <paramref name="issuer"/>.</summary>
    public static TokenIssuerOptions Options(this TestIssuer issuer) =>
        new() { Issuer = issuer.Issuer, Audience = issuer.Audience, JwksPath = issuer.JwksPath };
}
