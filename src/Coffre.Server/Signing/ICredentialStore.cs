using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace Coffre.Server.Signing;

/// <summary>Looks up the secret access key of an access key id. Implementations must never log secrets.</summary>
public interface ICredentialStore
{
    bool TryGetSecret(string accessKeyId, [NotNullWhen(true)] out string? secretKey);
}

/// <summary>A simple in-memory credential store (tests, single-user setups).</summary>
public sealed class StaticCredentialStore : ICredentialStore
{
    private readonly ConcurrentDictionary<string, string> _secrets = new(StringComparer.Ordinal);

    public StaticCredentialStore() { }

    public StaticCredentialStore(IEnumerable<KeyValuePair<string, string>> credentials)
    {
        foreach (var (id, secret) in credentials)
            Add(id, secret);
    }

    public StaticCredentialStore(string accessKeyId, string secretKey) => Add(accessKeyId, secretKey);

    public void Add(string accessKeyId, string secretKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(accessKeyId);
        ArgumentException.ThrowIfNullOrEmpty(secretKey);
        _secrets[accessKeyId] = secretKey;
    }

    public bool Remove(string accessKeyId) => _secrets.TryRemove(accessKeyId, out _);

    public bool TryGetSecret(string accessKeyId, [NotNullWhen(true)] out string? secretKey)
        => _secrets.TryGetValue(accessKeyId, out secretKey);

    public override string ToString() => $"StaticCredentialStore({_secrets.Count} keys)";
}
