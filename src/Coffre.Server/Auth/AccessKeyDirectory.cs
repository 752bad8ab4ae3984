using System.Diagnostics.CodeAnalysis;
using Coffre.Server.Signing;

namespace Coffre.Server.Auth;

/// <summary>The access keys the server accepts, from configuration plus the root credentials. Also the SigV4 secret lookup.</summary>
public sealed class AccessKeyDirectory : ICredentialStore
{
    private readonly Dictionary<string, AccessKeyOptions> _keys = new(StringComparer.Ordinal);

    public AccessKeyDirectory(IEnumerable<AccessKeyOptions> keys)
    {
        foreach (var k in keys)
        {
            if (string.IsNullOrWhiteSpace(k.AccessKeyId) || string.IsNullOrEmpty(k.SecretAccessKey))
                throw new InvalidOperationException("Every entry of Coffre:AccessKeys needs an AccessKeyId and a SecretAccessKey.");
            if (k.SecretAccessKey.Length < 8)
                throw new InvalidOperationException($"The secret of access key '{k.AccessKeyId}' is shorter than 8 characters.");
            if (!_keys.TryAdd(k.AccessKeyId, k))
                throw new InvalidOperationException($"The access key '{k.AccessKeyId}' is configured twice.");
        }
    }

    public AccessKeyOptions? Find(string accessKeyId) => _keys.GetValueOrDefault(accessKeyId);

    public bool TryGetSecret(string accessKeyId, [NotNullWhen(true)] out string? secretKey)
    {
        secretKey = Find(accessKeyId)?.SecretAccessKey;
        return secretKey is not null;
    }
}
