using System.Globalization;
using System.Text;
using Coffre.Server.Signing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Coffre.Fuzz.Targets;

/// <summary>
/// SigV4 header and query parsing and canonicalisation: the input is a request as text, "METHOD request-target"
/// then "Name: value" lines, turned into an ASP.NET request the way Kestrel hands it over, adapted
/// (<see cref="SigV4RequestAdapter"/>) and verified against <see cref="SigV4Fixture"/>. Every outcome is a
/// <see cref="SigV4Result"/>; the verifier throws for nothing a client sends.
/// </summary>
public sealed class SigV4Target : FuzzTarget
{
    private readonly Lazy<SigV4Verifier> _verifier = new(SigV4Fixture.Verifier);

    public override string Name => "sigv4";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var lines = Encoding.UTF8.GetString(input).Split('\n');
        var requestLine = lines[0].TrimEnd('\r');
        var space = requestLine.IndexOf(' ');
        // Kestrel hands over a non-empty method token and a non-empty target; anything else never reaches the verifier.
        if (space <= 0 || space == requestLine.Length - 1) return;
        var context = new DefaultHttpContext();
        context.Request.Method = requestLine[..space];
        context.Features.Get<IHttpRequestFeature>()!.RawTarget = requestLine[(space + 1)..];
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            if (colon <= 0) continue;
            var name = line[..colon].Trim();
            if (name.Length == 0) continue;
            context.Request.Headers.Append(name, line[(colon + 1)..].Trim());
        }

        var request = SigV4RequestAdapter.FromHttpRequest(context.Request);
        if (SigV4Verifier.RequiresBodyHash(request))
            request = request.WithPayloadHash(SigV4Canonicalizer.EmptyPayloadSha256);
        var result = _verifier.Value.Verify(request);
        Check(result.IsSuccess == (result.Context is not null), "a result is a success exactly when it carries a context");

        // The canonical forms the verifier builds for either service, alone.
        SigV4Canonicalizer.CanonicalUri(request.RawPath, s3: true);
        SigV4Canonicalizer.CanonicalUri(request.RawPath, s3: false);
        SigV4Canonicalizer.CanonicalQuery(request.RawQuery);
    }

    public override IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        var ts = SigV4Fixture.Timestamp;
        string Signed(string method, string path, params (string Name, string Value)[] extra)
        {
            var headers = new Dictionary<string, string> { ["host"] = SigV4Fixture.Host, ["x-amz-date"] = ts };
            foreach (var (n, v) in extra) headers[n] = v;
            var service = headers.ContainsKey("x-amz-target") ? "kms" : "s3";
            var body = service == "kms" ? "{}"u8 : ReadOnlySpan<byte>.Empty;
            var auth = SigV4ClientSigner.Authorization(method, path, headers, body, SigV4Fixture.AccessKeyId, SigV4Fixture.Secret, SigV4Fixture.Region, service);
            var text = new StringBuilder($"{method} {path}\n");
            foreach (var (n, v) in headers) text.Append(n).Append(": ").Append(v).Append('\n');
            text.Append("Authorization: ").Append(auth).Append('\n');
            return text.ToString();
        }
        yield return ("get-object", Encoding.UTF8.GetBytes(Signed("GET", "/bucket/some%20key.txt", ("x-amz-content-sha256", SigV4Canonicalizer.EmptyPayloadSha256))));
        yield return ("put-streaming", Encoding.UTF8.GetBytes(Signed("PUT", "/bucket/key",
            ("x-amz-content-sha256", SigV4Canonicalizer.StreamingSignedPayloadTrailer), ("x-amz-decoded-content-length", "11"),
            ("x-amz-trailer", "x-amz-checksum-crc32"), ("content-encoding", "aws-chunked"))));
        yield return ("kms-decrypt", Encoding.UTF8.GetBytes(Signed("POST", "/", ("x-amz-target", "TrentService.Decrypt"),
            ("content-type", "application/x-amz-json-1.1"))));
        yield return ("presigned-get", Encoding.UTF8.GetBytes(Presigned("GET", "/bucket/a/b.txt")));
    }

    /// <summary>A presigned URL (query authentication, host signed only), as the SDKs' presigners write it.</summary>
    private static string Presigned(string method, string path)
    {
        var scope = SigV4Canonicalizer.Scope(SigV4Fixture.Date, SigV4Fixture.Region, "s3");
        var query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + Uri.EscapeDataString(SigV4Fixture.AccessKeyId + "/" + scope) +
                    $"&X-Amz-Date={SigV4Fixture.Timestamp}&X-Amz-Expires=3600&X-Amz-SignedHeaders=host";
        var canonical = SigV4Canonicalizer.CanonicalRequest(method, SigV4Canonicalizer.CanonicalUri(path, true),
            SigV4Canonicalizer.CanonicalQuery(query), [("host", SigV4Fixture.Host)], "host", SigV4Canonicalizer.UnsignedPayload);
        var key = SigV4Canonicalizer.DeriveSigningKey(SigV4Fixture.Secret, SigV4Fixture.Date, SigV4Fixture.Region, "s3");
        var signature = SigV4Canonicalizer.Sign(key, SigV4Canonicalizer.StringToSign(SigV4Fixture.Timestamp, scope, canonical));
        return string.Create(CultureInfo.InvariantCulture, $"{method} {path}?{query}&X-Amz-Signature={signature}\nHost: {SigV4Fixture.Host}\n");
    }
}
