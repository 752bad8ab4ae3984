using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Coffre.Server.Signing;

/// <summary>Builds a <see cref="SigV4Request"/> from an ASP.NET Core request, using the raw (undecoded) request target.</summary>
public static class SigV4RequestAdapter
{
    public static SigV4Request FromHttpRequest(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var rawTarget = request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget;
        string path, query;
        if (string.IsNullOrEmpty(rawTarget))
        {
            // Fallback: re-encoded by ASP.NET (may differ from the wire form for exotic paths).
            path = (request.PathBase + request.Path).ToUriComponent();
            query = request.QueryString.HasValue ? request.QueryString.Value![1..] : "";
        }
        else
        {
            (path, query) = SplitTarget(rawTarget);
        }

        var headers = new SigV4Headers();
        foreach (var (name, values) in request.Headers)
            foreach (var value in values)
                headers.Add(name, value ?? "");
        var host = request.Headers.Host.ToString();
        return new SigV4Request(request.Method, path, query, headers, string.IsNullOrEmpty(host) ? null : host);
    }

    /// <summary>
    /// The raw path and query of a request target. An absolute-form target (proxy style, "http://host/b/../k") loses its
    /// scheme and authority and nothing else: no dot-segment normalisation, so the faces route on exactly the path the
    /// signature covers (Kestrel's normalised Path would let "/allowed/../other/k" be signed for one bucket and reach another).
    /// </summary>
    public static (string Path, string Query) SplitTarget(string rawTarget)
    {
        var target = rawTarget;
        var scheme = target.IndexOf("://", StringComparison.Ordinal);
        if (scheme > 0 && target.IndexOf('/') > scheme)
        {
            var slash = target.IndexOf('/', scheme + 3);
            target = slash < 0 ? "/" : target[slash..];
        }
        var q = target.IndexOf('?');
        return q < 0 ? (target, "") : (target[..q], target[(q + 1)..]);
    }
}
