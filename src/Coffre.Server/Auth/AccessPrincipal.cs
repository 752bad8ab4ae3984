using Coffre.Kms.Access;

namespace Coffre.Server.Auth;

/// <summary>An access key the server accepts: its secret (for SigV4, never logged) and its grants.</summary>
public sealed record AccessPrincipal(string AccessKeyId, string SecretAccessKey, AccessGrants Grants)
{
    public override string ToString() => $"AccessPrincipal({AccessKeyId})"; // never the secret
}
