using System.Collections;

namespace Coffre.Server.Signing;

/// <summary>
/// The parts of an HTTP request that SigV4 covers, as plain data (no web framework types).
/// </summary>
public sealed class SigV4Request
{
    /// <param name="method">HTTP method, e.g. "GET".</param>
    /// <param name="rawPath">The path exactly as sent on the request line (percent-encoded form, no query).</param>
    /// <param name="rawQuery">The query string exactly as sent, with or without the leading '?'; null or empty when none.</param>
    /// <param name="headers">All request headers (case-insensitive names, multi-valued).</param>
    /// <param name="host">The Host (or HTTP/2 :authority) value as sent, including a non-default port; null to take the "host" header.</param>
    public SigV4Request(string method, string rawPath, string? rawQuery, SigV4Headers headers, string? host = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        ArgumentNullException.ThrowIfNull(rawPath);
        ArgumentNullException.ThrowIfNull(headers);
        Method = method;
        RawPath = rawPath;
        RawQuery = rawQuery is null ? "" : rawQuery.StartsWith('?') ? rawQuery[1..] : rawQuery;
        Headers = headers;
        Host = host;
    }

    public string Method { get; }

    /// <summary>Percent-encoded path as sent, e.g. "/bucket/my%20key".</summary>
    public string RawPath { get; }

    /// <summary>Raw query without the leading '?'; "" when none.</summary>
    public string RawQuery { get; }

    public SigV4Headers Headers { get; }

    /// <summary>Host as sent; when null the "host" header is used.</summary>
    public string? Host { get; }

    /// <summary>
    /// Lowercase hex SHA-256 of the body, computed by the caller. Only needed when the request has no
    /// x-amz-content-sha256 header (KMS and other non-S3 services sign the body hash without sending it):
    /// buffer the (small) body, hash it with <see cref="SigV4Canonicalizer.Sha256Hex(ReadOnlySpan{byte})"/>,
    /// set this and call Verify. See <see cref="SigV4Verifier.RequiresBodyHash"/>.
    /// </summary>
    public string? PayloadHash { get; init; }

    /// <summary>A copy of this request carrying the caller-computed body hash (see <see cref="PayloadHash"/>).</summary>
    public SigV4Request WithPayloadHash(string sha256Hex) => new(Method, RawPath, RawQuery, Headers, Host) { PayloadHash = sha256Hex };

    /// <summary>The host value used for the canonical "host" header.</summary>
    public string? EffectiveHost => Host ?? Headers.GetFirst("host");
}

/// <summary>Case-insensitive, multi-valued header collection keeping values in arrival order.</summary>
public sealed class SigV4Headers : IEnumerable<KeyValuePair<string, IReadOnlyList<string>>>
{
    private readonly Dictionary<string, List<string>> _headers = new(StringComparer.OrdinalIgnoreCase);

    public SigV4Headers() { }

    public SigV4Headers(IEnumerable<KeyValuePair<string, string>> headers)
    {
        foreach (var (name, value) in headers)
            Add(name, value);
    }

    /// <summary>Appends a value (a repeated header line adds another value).</summary>
    public SigV4Headers Add(string name, string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!_headers.TryGetValue(name, out var list))
            _headers[name] = list = new List<string>(1);
        list.Add(value ?? "");
        return this;
    }

    /// <summary>Replaces all values of a header.</summary>
    public SigV4Headers Set(string name, string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        _headers[name] = new List<string>(1) { value ?? "" };
        return this;
    }

    public bool Remove(string name) => _headers.Remove(name);

    public bool Contains(string name) => _headers.ContainsKey(name);

    public bool TryGetValues(string name, out IReadOnlyList<string> values)
    {
        if (_headers.TryGetValue(name, out var list))
        {
            values = list;
            return true;
        }
        values = Array.Empty<string>();
        return false;
    }

    public string? GetFirst(string name) => _headers.TryGetValue(name, out var list) && list.Count > 0 ? list[0] : null;

    public IEnumerable<string> Names => _headers.Keys;

    public int Count => _headers.Count;

    public IEnumerator<KeyValuePair<string, IReadOnlyList<string>>> GetEnumerator()
    {
        foreach (var (name, values) in _headers)
            yield return new KeyValuePair<string, IReadOnlyList<string>>(name, values);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
