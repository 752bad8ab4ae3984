using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Coffre.Server.Signing;

/// <summary>
/// Verifies AWS Signature Version 4 requests (Authorization header and presigned query forms) for the S3 and KMS faces.
/// Thread-safe; holds no per-request state.
/// </summary>
public sealed class SigV4Verifier
{
    public static readonly TimeSpan DefaultAllowedSkew = TimeSpan.FromMinutes(15);
    public const int MaxPresignedExpirySeconds = 7 * 24 * 3600;

    private static readonly string[] DefaultServices = ["s3", "kms"];

    /// <summary>Most signing keys kept; past it the cache starts over (a day holds one per access key, region and service).</summary>
    public const int MaxCachedSigningKeys = 1024;

    private readonly ICredentialStore _credentials;
    private readonly TimeProvider _time;
    private readonly TimeSpan _allowedSkew;
    private readonly HashSet<string> _services;

    // A signing key is the same for every request of a day (access key, date, region, service) and deriving it
    // costs four HMACs, a large share of verifying a small KMS request. Only keys that verified a signature are
    // kept, so unauthenticated callers cannot fill the cache; an entry serves only while the store returns the
    // same secret (a changed secret derives afresh). Keys are shared read-only (SigV4AuthContext.SigningKey).
    private readonly ConcurrentDictionary<(string AccessKeyId, string Date, string Region, string Service), (string Secret, byte[] Key)> _signingKeys = new();

    public SigV4Verifier(ICredentialStore credentials, TimeProvider time)
        : this(credentials, time, DefaultAllowedSkew) { }

    public SigV4Verifier(ICredentialStore credentials, TimeProvider time, TimeSpan allowedSkew)
        : this(credentials, time, allowedSkew, DefaultServices) { }

    /// <param name="services">Accepted credential-scope services. "s3" gets S3 path rules; every other service normalised, double-encoded paths.</param>
    public SigV4Verifier(ICredentialStore credentials, TimeProvider time, TimeSpan allowedSkew, IEnumerable<string> services)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(allowedSkew, TimeSpan.Zero);
        _credentials = credentials;
        _time = time;
        _allowedSkew = allowedSkew;
        _services = new HashSet<string>(services, StringComparer.Ordinal);
    }

    /// <summary>
    /// The one region requests must be signed for (Coffre:PinRegion), refused otherwise with the expected region, as AWS
    /// does; null accepts any region.
    /// </summary>
    public string? PinnedRegion { get; init; }

    /// <summary>
    /// True when the request claims a credential scope of another service than s3 (kms, the admin API): its signature
    /// covers the body's hash, so the caller must buffer the (small, bounded) body and set
    /// <see cref="SigV4Request.PayloadHash"/> before calling <see cref="Verify"/>. Unverified: for routing the body only.
    /// </summary>
    public static bool RequiresBodyHash(SigV4Request request) => ClaimedService(request) is { } service && service != "s3";

    /// <summary>The service named by the request's credential scope (header or presigned), unverified; null when there is none.</summary>
    public static string? ClaimedService(SigV4Request request)
    {
        var credential = request.Headers.GetFirst("authorization") is { } authorization
            ? CredentialOf(authorization)
            : Find(SigV4Canonicalizer.ParseQuery(request.RawQuery), "X-Amz-Credential");
        var parts = credential?.Split('/');
        return parts is { Length: 5 } ? parts[3] : null;
    }

    private static string? CredentialOf(string authorization)
    {
        var start = authorization.IndexOf("Credential=", StringComparison.Ordinal);
        if (start < 0) return null;
        start += "Credential=".Length;
        var end = authorization.IndexOf(',', start);
        return (end < 0 ? authorization[start..] : authorization[start..end]).Trim();
    }

    private sealed record Parsed(string AccessKeyId, string Date, string Region, string Service, string SignedHeaders, string Signature, bool Presigned);

    public SigV4Result Verify(SigV4Request request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var authorization = request.Headers.GetFirst("authorization");
        var query = SigV4Canonicalizer.ParseQuery(request.RawQuery);
        var queryAlgorithm = Find(query, "X-Amz-Algorithm");

        if (authorization is not null && queryAlgorithm is not null)
            return SigV4Result.Fail(SigV4Error.InvalidArgument,
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified");
        if (authorization is not null)
            return VerifyHeaderAuth(request, authorization);
        if (queryAlgorithm is not null)
            return VerifyPresigned(request, query, queryAlgorithm);
        if (Find(query, "X-Amz-Credential") is not null || Find(query, "X-Amz-Signature") is not null)
            return SigV4Result.Fail(SigV4Error.AuthorizationQueryParametersError,
                "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.");
        if (Find(query, "Signature") is not null && Find(query, "AWSAccessKeyId") is not null)
            return SigV4Result.Fail(SigV4Error.InvalidRequest,
                "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.");
        return SigV4Result.Fail(SigV4Error.MissingAuthenticationToken, "Request is missing Authentication Token");
    }

    /// <summary>The decoded value of the first query parameter named <paramref name="name"/> (case-sensitive), or null.</summary>
    internal static string? Find(List<(string Name, string Value)> query, string name)
    {
        foreach (var (n, v) in query)
            if (n == name)
                return v;
        return null;
    }

    private SigV4Result VerifyHeaderAuth(SigV4Request request, string authorization)
    {
        const SigV4Error malformed = SigV4Error.AuthorizationHeaderMalformed;
        var value = authorization.Trim();
        var space = value.IndexOf(' ');
        var algorithm = space < 0 ? value : value[..space];
        if (algorithm != SigV4Canonicalizer.Algorithm)
        {
            if (algorithm == "AWS")
                return SigV4Result.Fail(SigV4Error.InvalidRequest,
                    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.");
            return SigV4Result.Fail(malformed, $"The authorization header is malformed; unsupported algorithm '{Truncate(algorithm)}'; expecting AWS4-HMAC-SHA256.");
        }

        string? credential = null, signedHeaders = null, signature = null;
        foreach (var part in value[(space + 1)..].Split(','))
        {
            var p = part.Trim();
            if (p.Length == 0)
                continue;
            var eq = p.IndexOf('=');
            if (eq <= 0)
                return SigV4Result.Fail(malformed, $"The authorization header is malformed; the authorization component \"{Truncate(p)}\" is malformed.");
            var key = p[..eq].Trim();
            var v = p[(eq + 1)..].Trim();
            switch (key)
            {
                case "Credential": credential = v; break;
                case "SignedHeaders": signedHeaders = v; break;
                case "Signature": signature = v; break;
                default:
                    return SigV4Result.Fail(malformed, $"The authorization header is malformed; the authorization component \"{Truncate(p)}\" is malformed.");
            }
        }
        if (credential is null)
            return SigV4Result.Fail(malformed, "The authorization header is malformed; missing Credential.");
        if (signedHeaders is null)
            return SigV4Result.Fail(malformed, "The authorization header is malformed; missing SignedHeaders.");
        if (signature is null)
            return SigV4Result.Fail(malformed, "The authorization header is malformed; missing Signature.");

        var parsed = ParseCredential(credential, signedHeaders, signature, presigned: false, out var failure);
        if (parsed is null)
            return failure!;

        // Request time: x-amz-date, else Date.
        DateTimeOffset requestTime;
        var amzDate = request.Headers.GetFirst("x-amz-date");
        if (amzDate is not null)
        {
            if (!TryParseTimestamp(amzDate.Trim(), out requestTime))
                return SigV4Result.Fail(SigV4Error.AccessDenied, "AWS authentication requires a valid Date or x-amz-date header", parsed.AccessKeyId, parsed.Service);
        }
        else
        {
            var date = request.Headers.GetFirst("date");
            if (date is null || !DateTimeOffset.TryParseExact(date.Trim(), "r", CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out requestTime))
                return SigV4Result.Fail(SigV4Error.AccessDenied, "AWS authentication requires a valid Date or x-amz-date header", parsed.AccessKeyId, parsed.Service);
        }
        return VerifyCommon(request, parsed, requestTime, null);
    }

    private SigV4Result VerifyPresigned(SigV4Request request, List<(string Name, string Value)> query, string algorithm)
    {
        const SigV4Error bad = SigV4Error.AuthorizationQueryParametersError;
        if (algorithm != SigV4Canonicalizer.Algorithm)
            return SigV4Result.Fail(bad, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
        var credential = Find(query, "X-Amz-Credential");
        var date = Find(query, "X-Amz-Date");
        var expires = Find(query, "X-Amz-Expires");
        var signedHeaders = Find(query, "X-Amz-SignedHeaders");
        var signature = Find(query, "X-Amz-Signature");
        if (credential is null || date is null || expires is null || signedHeaders is null || signature is null)
            return SigV4Result.Fail(bad,
                "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.");

        var parsed = ParseCredential(credential, signedHeaders, signature, presigned: true, out var failure);
        if (parsed is null)
            return failure!;
        if (!TryParseTimestamp(date, out var requestTime))
            return SigV4Result.Fail(bad, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"", parsed.AccessKeyId, parsed.Service);
        if (!int.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            return SigV4Result.Fail(bad, "X-Amz-Expires should be a number", parsed.AccessKeyId, parsed.Service);
        if (seconds > MaxPresignedExpirySeconds)
            return SigV4Result.Fail(bad, "X-Amz-Expires must be less than a week (in seconds) that is 604800", parsed.AccessKeyId, parsed.Service);
        return VerifyCommon(request, parsed, requestTime, TimeSpan.FromSeconds(seconds));
    }

    private Parsed? ParseCredential(string credential, string signedHeaders, string signature, bool presigned, out SigV4Result? failure)
    {
        var code = presigned ? SigV4Error.AuthorizationQueryParametersError : SigV4Error.AuthorizationHeaderMalformed;
        var parts = credential.Split('/');
        if (parts.Length != 5 || parts[0].Length == 0 || parts[4] != "aws4_request")
        {
            failure = SigV4Result.Fail(code,
                "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".",
                parts.Length > 0 && parts[0].Length > 0 ? parts[0] : null);
            return null;
        }
        var (accessKeyId, date, region, service) = (parts[0], parts[1], parts[2], parts[3]);
        if (date.Length != 8 || !DateTime.TryParseExact(date, "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
        {
            failure = SigV4Result.Fail(code, $"Invalid credential date \"{Truncate(date)}\". This date is not the same as X-Amz-Date.", accessKeyId, service);
            return null;
        }
        if (region.Length == 0)
        {
            failure = SigV4Result.Fail(code, "The authorization header is malformed; the region is empty.", accessKeyId, service);
            return null;
        }
        if (PinnedRegion is { } pinned && !string.Equals(region, pinned, StringComparison.Ordinal))
        {
            failure = SigV4Result.WrongRegion(code, presigned
                ? $"Error parsing the X-Amz-Credential parameter; the region '{Truncate(region)}' is wrong; expecting '{pinned}'"
                : $"The authorization header is malformed; the region '{Truncate(region)}' is wrong; expecting '{pinned}'", accessKeyId, service, pinned);
            return null;
        }
        if (!_services.Contains(service))
        {
            failure = SigV4Result.Fail(code, $"The authorization header is malformed; incorrect service \"{Truncate(service)}\". This endpoint belongs to \"{string.Join("\" or \"", _services)}\".", accessKeyId, service);
            return null;
        }
        if (signedHeaders.Length == 0)
        {
            failure = SigV4Result.Fail(code, "The authorization header is malformed; SignedHeaders is empty.", accessKeyId, service);
            return null;
        }
        failure = null;
        return new Parsed(accessKeyId, date, region, service, signedHeaders, signature, presigned);
    }

    private SigV4Result VerifyCommon(SigV4Request request, Parsed p, DateTimeOffset requestTime, TimeSpan? expires)
    {
        var malformed = p.Presigned ? SigV4Error.AuthorizationQueryParametersError : SigV4Error.AuthorizationHeaderMalformed;
        var isS3 = p.Service == "s3";
        var timestamp = requestTime.UtcDateTime.ToString(SigV4Canonicalizer.TimestampFormat, CultureInfo.InvariantCulture);
        if (timestamp[..8] != p.Date)
            return SigV4Result.Fail(malformed,
                $"Invalid credential date \"{p.Date}\". This date is not the same as {(p.Presigned || request.Headers.Contains("x-amz-date") ? "X-Amz-Date" : "Date")}: \"{timestamp[..8]}\".",
                p.AccessKeyId, p.Service);

        // Signed headers: lowercase names separated by ';', must include host.
        var names = p.SignedHeaders.Split(';');
        foreach (var n in names)
        {
            if (n.Length == 0 || n.Any(c => c <= ' ' || c >= 0x7f || char.IsAsciiLetterUpper(c)))
                return SigV4Result.Fail(malformed, $"The authorization header is malformed; invalid SignedHeaders \"{Truncate(p.SignedHeaders)}\".", p.AccessKeyId, p.Service);
        }
        if (!names.Contains("host"))
            return SigV4Result.Fail(malformed, "The authorization header is malformed; SignedHeaders must include \"host\".", p.AccessKeyId, p.Service);
        var host = request.EffectiveHost;
        if (string.IsNullOrEmpty(host))
            return SigV4Result.Fail(SigV4Error.InvalidRequest, "Missing required header for this request: host", p.AccessKeyId, p.Service);

        // Every x-amz-* header must be signed (except the two whose values are bound by the string to sign anyway).
        List<string>? notSigned = null;
        foreach (var name in request.Headers.Names)
        {
            if (!name.StartsWith("x-amz-", StringComparison.OrdinalIgnoreCase))
                continue;
            var lower = name.ToLowerInvariant();
            if (lower is "x-amz-content-sha256" or "x-amz-date" || names.Contains(lower))
                continue;
            (notSigned ??= []).Add(lower);
        }
        if (notSigned is not null)
        {
            notSigned.Sort(StringComparer.Ordinal);
            return SigV4Result.NotSigned(p.AccessKeyId, p.Service, string.Join(", ", notSigned));
        }

        // Payload hash and mode.
        PayloadMode mode;
        string payloadHash;
        var contentSha = request.Headers.GetFirst("x-amz-content-sha256")?.Trim();
        if (!isS3)
        {
            // Only S3 may leave its body out of the signature (presigned URLs, UNSIGNED-PAYLOAD, aws-chunked). Every other
            // service (kms, the admin API) signs the SHA-256 of its body, as AWS requires: otherwise one signed request
            // would authorise any body, and a presigned KMS Decrypt URL would decrypt any ciphertext for a week.
            if (p.Presigned)
                return SigV4Result.Fail(SigV4Error.PayloadNotSigned,
                    $"Presigned URLs are accepted only for service s3; sign {p.Service} requests in the Authorization header, over the SHA-256 of the body.",
                    p.AccessKeyId, p.Service);
            if (request.PayloadHash is null)
                return SigV4Result.Fail(SigV4Error.InvalidRequest,
                    "The request signs a body hash it does not send: the server must hash the body first (SigV4Request.PayloadHash).", p.AccessKeyId, p.Service);
            if (!SigV4Canonicalizer.IsHex(request.PayloadHash, 64))
                throw new ArgumentException("SigV4Request.PayloadHash must be a hex SHA-256.", nameof(request));
            if (contentSha is not null && !string.Equals(contentSha, request.PayloadHash, StringComparison.OrdinalIgnoreCase))
                return SigV4Canonicalizer.IsHex(contentSha, 64)
                    ? SigV4Result.Fail(SigV4Error.XAmzContentSHA256Mismatch, "The x-amz-content-sha256 header does not match the request body.", p.AccessKeyId, p.Service)
                    : SigV4Result.Fail(SigV4Error.PayloadNotSigned,
                        $"x-amz-content-sha256 '{Truncate(contentSha)}' is accepted only for service s3; {p.Service} requests sign the SHA-256 of their body.",
                        p.AccessKeyId, p.Service);
            mode = PayloadMode.PrecomputedHash;
            payloadHash = contentSha ?? request.PayloadHash.ToLowerInvariant();
        }
        else
        {
            if (p.Presigned)
            {
                // S3 presigned URLs sign UNSIGNED-PAYLOAD; a signed X-Amz-Content-Sha256 query parameter may override.
                contentSha = Find(SigV4Canonicalizer.ParseQuery(request.RawQuery), "X-Amz-Content-Sha256") ?? SigV4Canonicalizer.UnsignedPayload;
            }
            if (contentSha is null)
                return SigV4Result.Fail(SigV4Error.InvalidRequest, "Missing required header for this request: x-amz-content-sha256", p.AccessKeyId, p.Service);
            switch (contentSha)
            {
                case SigV4Canonicalizer.UnsignedPayload: mode = PayloadMode.Unsigned; break;
                case SigV4Canonicalizer.StreamingSignedPayload: mode = PayloadMode.StreamingSigned; break;
                case SigV4Canonicalizer.StreamingSignedPayloadTrailer: mode = PayloadMode.StreamingSignedTrailer; break;
                case SigV4Canonicalizer.StreamingUnsignedPayloadTrailer: mode = PayloadMode.StreamingUnsignedTrailer; break;
                default:
                    if (!SigV4Canonicalizer.IsHex(contentSha, 64))
                        return SigV4Result.Fail(SigV4Error.InvalidArgument,
                            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-UNSIGNED-PAYLOAD-TRAILER or a valid sha256 value.",
                            p.AccessKeyId, p.Service);
                    mode = PayloadMode.SignedHash;
                    break;
            }
            if (p.Presigned && mode is not (PayloadMode.Unsigned or PayloadMode.SignedHash))
                return SigV4Result.Fail(SigV4Error.InvalidArgument, "Streaming payloads cannot be used with presigned URLs.", p.AccessKeyId, p.Service);
            payloadHash = contentSha;
        }

        long? decodedLength = null;
        IReadOnlyList<string> trailers = [];
        if (mode is PayloadMode.StreamingSigned or PayloadMode.StreamingSignedTrailer or PayloadMode.StreamingUnsignedTrailer)
        {
            var decoded = request.Headers.GetFirst("x-amz-decoded-content-length");
            if (decoded is null)
                return SigV4Result.Fail(SigV4Error.MissingSecurityHeader, "Your request was missing a required header: x-amz-decoded-content-length", p.AccessKeyId, p.Service);
            if (!long.TryParse(decoded.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var dl))
                return SigV4Result.Fail(SigV4Error.InvalidArgument, "x-amz-decoded-content-length must be a non-negative integer.", p.AccessKeyId, p.Service);
            decodedLength = dl;
            if (mode != PayloadMode.StreamingSigned)
            {
                var declared = new List<string>();
                if (request.Headers.TryGetValues("x-amz-trailer", out var tv))
                    foreach (var v in tv)
                        foreach (var t in v.Split(','))
                            if (t.Trim().Length > 0)
                                declared.Add(t.Trim().ToLowerInvariant());
                trailers = declared;
            }
        }

        // Credentials and time (checked before the signature, as S3 does).
        if (!_credentials.TryGetSecret(p.AccessKeyId, out var secret))
            return SigV4Result.Fail(SigV4Error.InvalidAccessKeyId, "The AWS Access Key Id you provided does not exist in our records.", p.AccessKeyId, p.Service);

        var now = _time.GetUtcNow();
        DateTimeOffset? expiresAt = null;
        if (expires is { } e)
        {
            if (requestTime - now > _allowedSkew)
                return SigV4Result.Fail(SigV4Error.AccessDenied, "Request is not valid yet", p.AccessKeyId, p.Service);
            expiresAt = requestTime + e;
            if (now > expiresAt)
                return SigV4Result.Fail(SigV4Error.AccessDenied, "Request has expired", p.AccessKeyId, p.Service);
        }
        else if ((now - requestTime).Duration() > _allowedSkew)
        {
            return SigV4Result.Fail(SigV4Error.RequestTimeTooSkewed,
                $"The difference between the request time ({timestamp}) and the server's time ({now.UtcDateTime.ToString(SigV4Canonicalizer.TimestampFormat, CultureInfo.InvariantCulture)}) is too large.",
                p.AccessKeyId, p.Service);
        }

        // Canonical request.
        var canonicalHeaders = new List<(string, string)>(names.Length);
        foreach (var name in names)
        {
            string v;
            if (name == "host")
                v = SigV4Canonicalizer.TrimAndCollapse(host);
            else if (request.Headers.TryGetValues(name, out var values))
                v = SigV4Canonicalizer.CanonicalHeaderValue(values);
            else
                v = "";
            canonicalHeaders.Add((name, v));
        }
        var canonicalRequest = SigV4Canonicalizer.CanonicalRequest(
            request.Method,
            SigV4Canonicalizer.CanonicalUri(request.RawPath, isS3),
            SigV4Canonicalizer.CanonicalQuery(request.RawQuery, p.Presigned ? "X-Amz-Signature" : null),
            canonicalHeaders, p.SignedHeaders, payloadHash);
        var scope = SigV4Canonicalizer.Scope(p.Date, p.Region, p.Service);
        var stringToSign = SigV4Canonicalizer.StringToSign(timestamp, scope, canonicalRequest);
        var cacheKey = (p.AccessKeyId, p.Date, p.Region, p.Service);
        var cached = _signingKeys.TryGetValue(cacheKey, out var entry) && string.Equals(entry.Secret, secret, StringComparison.Ordinal);
        var key = cached ? entry.Key : SigV4Canonicalizer.DeriveSigningKey(secret, p.Date, p.Region, p.Service);
        var computed = SigV4Canonicalizer.Sign(key, stringToSign);
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(computed), Encoding.UTF8.GetBytes(p.Signature)))
        {
            if (!cached) CryptographicOperations.ZeroMemory(key);
            return SigV4Result.Mismatch(p.AccessKeyId, p.Service, stringToSign, canonicalRequest, p.Signature);
        }
        if (!cached)
        {
            if (_signingKeys.Count >= MaxCachedSigningKeys) _signingKeys.Clear();
            _signingKeys[cacheKey] = (secret, key);
        }

        return SigV4Result.Success(new SigV4AuthContext(p.AccessKeyId, p.Region, p.Service, requestTime, key, computed, p.Presigned,
            expiresAt, mode, mode is PayloadMode.SignedHash or PayloadMode.PrecomputedHash ? payloadHash : null, decodedLength, trailers, names));
    }

    private static bool TryParseTimestamp(string value, out DateTimeOffset time)
        => DateTimeOffset.TryParseExact(value, SigV4Canonicalizer.TimestampFormat, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);

    private static string Truncate(string s) => s.Length <= 64 ? s : s[..64] + "...";
}
