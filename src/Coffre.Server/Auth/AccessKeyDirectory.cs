using System.Diagnostics.CodeAnalysis;
using Coffre.Kms;
using Coffre.Kms.Access;
using Coffre.Server.Signing;

namespace Coffre.Server.Auth;

/// <summary>
/// The access keys the server accepts, and the SigV4 secret lookup: keys from configuration (and the root
/// credentials), validated once, plus the keys stored in the key store, re-read by <see cref="Refresh"/> when the
/// store's access-key generation moved (every <c>Coffre:AccessKeyRefreshInterval</c>, and at once after a change
/// made through the admin API). A configured key wins over a stored key of the same id.
/// </summary>
public sealed class AccessKeyDirectory : ICredentialStore
{
    private static readonly Dictionary<string, AccessPrincipal> NoKeys = new(StringComparer.Ordinal);

    private volatile Dictionary<string, AccessPrincipal> _configured = new(StringComparer.Ordinal);
    private readonly AccessKeyManager? _stored;
    private readonly Lock _refreshLock = new();
    private volatile Dictionary<string, AccessPrincipal> _storedKeys = NoKeys;
    private long _generation = -1;

    /// <param name="configured">Coffre:AccessKeys (and the root credentials); every problem of every entry is reported in one exception.</param>
    /// <param name="stored">The access keys of the key store, or null when the server serves configured keys only.</param>
    public AccessKeyDirectory(IEnumerable<AccessKeyOptions> configured, AccessKeyManager? stored = null)
    {
        var keys = configured.ToList();
        var problems = Problems(keys);
        if (problems.Count > 0)
            throw new InvalidOperationException(string.Join(Environment.NewLine, problems));
        foreach (var k in keys) _configured.Add(k.AccessKeyId, new AccessPrincipal(k.AccessKeyId, k.SecretAccessKey, k.ToGrants()));
        _stored = stored;
        try
        {
            Refresh();
        }
        catch (KmsException e) when (e.Error == KmsError.Sealed)
        {
            // Started sealed: stored keys are read by the first refresh after the unseal.
        }
    }

    /// <summary>Every problem of the configured access keys (Coffre:AccessKeys), one message each, naming the entry and never its secret.</summary>
    public static IReadOnlyList<string> Problems(IEnumerable<AccessKeyOptions> configured)
    {
        var problems = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var k in configured)
        {
            var where = $"Coffre:AccessKeys:{index++}" + (string.IsNullOrWhiteSpace(k.AccessKeyId) ? "" : $" ({k.AccessKeyId})");
            if (string.IsNullOrWhiteSpace(k.AccessKeyId) || string.IsNullOrEmpty(k.SecretAccessKey))
            {
                problems.Add($"{where} needs an AccessKeyId and a SecretAccessKey.");
                continue;
            }
            if (k.SecretAccessKey.Length < 8) problems.Add($"{where}: the secret is shorter than 8 characters.");
            problems.AddRange(AccessGrantRules.Problems(k.ToGrants()).Select(p => $"{where}: {p}"));
            if (!seen.Add(k.AccessKeyId)) problems.Add($"{where}: the access key '{k.AccessKeyId}' is configured twice.");
        }
        return problems;
    }

    /// <summary>Adds a configured key after start (the root credentials sealed in the data directory, readable only once a
    /// server that started sealed is unsealed). Copy on write: lookups never take a lock.</summary>
    public void AddConfigured(AccessKeyOptions key)
    {
        var problems = Problems([key]);
        if (problems.Count > 0) throw new InvalidOperationException(string.Join(Environment.NewLine, problems));
        lock (_refreshLock)
        {
            _configured = new Dictionary<string, AccessPrincipal>(_configured, StringComparer.Ordinal)
            {
                [key.AccessKeyId] = new AccessPrincipal(key.AccessKeyId, key.SecretAccessKey, key.ToGrants()),
            };
        }
    }

    /// <summary>The default bound on how long a change made outside this server (the CLI on the same data directory) takes to apply.</summary>
    public static readonly TimeSpan DefaultRefreshInterval = TimeSpan.FromSeconds(2);

    public AccessPrincipal? Find(string accessKeyId) =>
        _configured.GetValueOrDefault(accessKeyId) ?? _storedKeys.GetValueOrDefault(accessKeyId);

    public bool TryGetSecret(string accessKeyId, [NotNullWhen(true)] out string? secretKey)
    {
        secretKey = Find(accessKeyId)?.SecretAccessKey;
        return secretKey is not null;
    }

    /// <summary>
    /// Re-reads the stored access keys if their generation changed (one indexed read otherwise). Fails closed: if
    /// the store cannot be read, the stored keys are dropped (configured keys keep working) and the failure is thrown.
    /// </summary>
    public void Refresh()
    {
        if (_stored is null) return;
        lock (_refreshLock)
        {
            try
            {
                var generation = _stored.Generation();
                if (generation == _generation) return;
                var fresh = new Dictionary<string, AccessPrincipal>(StringComparer.Ordinal);
                foreach (var k in _stored.LoadActive())
                    fresh[k.AccessKeyId] = new AccessPrincipal(k.AccessKeyId, k.SecretAccessKey, k.Grants);
                _storedKeys = fresh;
                _generation = generation;
            }
            catch
            {
                _storedKeys = NoKeys;
                _generation = -1;
                throw;
            }
        }
    }
}
