using Microsoft.AspNetCore.Http;

namespace Coffre.Server.Hosting;

/// <summary>
/// Coffre:Domains: the domains under which the S3 face serves virtual-hosted-style requests. A Host
/// "bucket.&lt;domain&gt;[:port]" addresses that bucket (the whole path is the key); a Host equal to a domain, or under
/// none, is path style (/bucket/key), as before. Bucket names with dots work (the first configured domain that ends
/// the Host wins, longest first), though a wildcard TLS certificate covers one label only (docs/operations.md).
/// </summary>
public sealed class S3Domains
{
    private readonly string[] _domains;

    public S3Domains(IEnumerable<string> domains)
    {
        var list = new List<string>();
        foreach (var domain in domains)
        {
            if (Problem(domain) is { } problem) throw new InvalidOperationException($"Coffre:Domains: {problem}");
            list.Add(domain.Trim().TrimEnd('.').ToLowerInvariant());
        }
        // Longest first: with s3.example.org and eu.s3.example.org, b.eu.s3.example.org is bucket b, not b.eu.
        _domains = [.. list.OrderByDescending(d => d.Length)];
    }

    public IReadOnlyList<string> Domains => _domains;

    /// <summary>What is wrong with one configured entry, or null (<see cref="ConfigurationCheck"/> lists them all).</summary>
    public static string? Problem(string? domain)
    {
        var d = domain?.Trim().TrimEnd('.');
        if (string.IsNullOrEmpty(d) || Uri.CheckHostName(d) != UriHostNameType.Dns)
            return $"'{domain}' is not a DNS domain: list domains only, without scheme, port, path or IP address (e.g. \"s3.example.org\").";
        return d.StartsWith("*.", StringComparison.Ordinal) ? $"'{domain}': list the domain itself, without '*.' (e.g. \"s3.example.org\")." : null;
    }

    /// <summary>The bucket a virtual-hosted Host names, or null for path style (a Host equal to a domain, or under none).</summary>
    public string? BucketOf(HostString host)
    {
        if (_domains.Length == 0 || !host.HasValue) return null;
        var name = host.Host.TrimEnd('.');
        foreach (var domain in _domains)
        {
            if (name.Length <= domain.Length + 1 || name[^(domain.Length + 1)] != '.'
                || !name.EndsWith(domain, StringComparison.OrdinalIgnoreCase)) continue;
            // Bucket names are lowercase; DNS is not case-sensitive, so the Host's case is not the bucket's.
            return name[..^(domain.Length + 1)].ToLowerInvariant();
        }
        return null;
    }

    /// <summary>True when the Host is a configured domain or a name under one (such hosts pass Coffre:HostNames).</summary>
    public bool Covers(HostString host)
    {
        if (!host.HasValue) return false;
        var name = host.Host.TrimEnd('.');
        return BucketOf(host) is not null || _domains.Any(d => d.Equals(name, StringComparison.OrdinalIgnoreCase));
    }
}
