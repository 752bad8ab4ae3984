using Microsoft.AspNetCore.Http;

namespace Coffre.Server.Hosting;

/// <summary>
/// Coffre:HostNames: the names clients may address the server by. A deployment pins them so that a request sent
/// under another name (a DNS-rebinding page, a misrouted proxy) is refused before authentication. Ports are not
/// compared: the listener decides those. No names: every Host is accepted.
/// </summary>
public sealed class HostNames
{
    private readonly HashSet<string> _names = new(StringComparer.OrdinalIgnoreCase);
    private readonly S3Domains? _domains;

    /// <param name="domains">Coffre:Domains: a Host equal to one of them or under one (a virtual-hosted bucket) is accepted too.</param>
    public HostNames(IEnumerable<string> names, S3Domains? domains = null)
    {
        _domains = domains;
        foreach (var name in names)
        {
            if (Problem(name) is { } problem) throw new InvalidOperationException($"Coffre:HostNames: {problem}");
            _names.Add(name.Trim('[', ']'));
        }
    }

    /// <summary>What is wrong with one configured entry, or null (<see cref="ConfigurationCheck"/> lists them all).</summary>
    public static string? Problem(string? name) =>
        string.IsNullOrWhiteSpace(name) || Uri.CheckHostName(name.Trim('[', ']')) == UriHostNameType.Unknown
            ? $"'{name}' is not a host name or IP address: list names only, without scheme, port or path (e.g. \"s3.example.org\")."
            : null;

    /// <summary>Why a request with this Host is refused, or null when it is accepted.</summary>
    public string? Refusal(HostString host)
    {
        if (_names.Count == 0 || (host.HasValue && _names.Contains(host.Host.Trim('[', ']'))) || _domains?.Covers(host) == true) return null;
        return $"The Host '{(host.Value is { Length: <= 100 } v ? v : "(missing or too long)")}' is not one of the names this server answers to (Coffre:HostNames).";
    }
}
