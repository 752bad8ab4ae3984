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
            var target = rawTarget;
            // absolute-form (proxy style): strip scheme://authority
            var scheme = target.IndexOf("://", StringComparison.Ordinal);
            if (scheme > 0 && target.IndexOf('/') > scheme)
            {
                var slash = target.IndexOf('/', scheme + 3);
                target = slash < 0 ? "/" : target[slash..];
            }
            var q = target.IndexOf('?');
            path = q < 0 ? target : target[..q];
            query = q < 0 ? "" : target[(q + 1)..];
        }

        var headers = new SigV4Headers();
        foreach (var (name, values) in request.Headers)
            foreach (var value in values)
                headers.Add(name, value ?? "");
        var host = request.Headers.Host.ToString();
        return new SigV4Request(request.Method, path, query, headers, string.IsNullOrEmpty(host) ? null : host);
    }
}
