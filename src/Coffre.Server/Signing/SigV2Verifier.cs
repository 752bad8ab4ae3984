using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Coffre.Server.Signing;

/// <summary>
/// Verifies AWS Signature Version 2 S3 requests: the header form (Authorization: AWS AccessKeyId:Signature) and the
/// presigned form (AWSAccessKeyId, Expires and Signature in the query), with the same credential store as SigV4 and
/// S3's answer to each failure. The signature covers no body: the S3 face still checks Content-MD5 and checksums.
/// Only the S3 face takes SigV2 (the KMS and admin faces keep refusing it). Thread-safe; holds no per-request state.
/// </summary>
/// <param name="region">The region an authenticated request is reported under (SigV2 names none).</param>
public sealed class SigV2Verifier(ICredentialStore credentials, TimeProvider time, string region)
{
    /// <summary>As S3: a header-signed request more than 15 minutes from the server's clock is refused.</summary>
    public static readonly TimeSpan AllowedSkew = SigV4Verifier.DefaultAllowedSkew;

    private const string HeaderPrefix = "AWS ";

    /// <summary>True when the request is signed with SigV2 (and with nothing else): route it here, not to SigV4.</summary>
    public static bool Claims(SigV4Request request)
    {
        if (request.Headers.GetFirst("authorization") is { } authorization)
            return authorization.StartsWith(HeaderPrefix, StringComparison.Ordinal);
        var query = SigV4Canonicalizer.ParseQuery(request.RawQuery);
        return Find(query, "AWSAccessKeyId") is not null && Find(query, "Signature") is not null && Find(query, "X-Amz-Algorithm") is null;
    }

    /// <param name="hostBucket">The bucket the Host named (virtual-hosted style), else null: it starts the signed resource.</param>
    public SigV4Result Verify(SigV4Request request, string? hostBucket)
    {
        ArgumentNullException.ThrowIfNull(request);
        var query = SigV4Canonicalizer.ParseQuery(request.RawQuery);
        var authorization = request.Headers.GetFirst("authorization");
        if (authorization is not null && Find(query, "Signature") is not null)
            return SigV4Result.Fail(SigV4Error.InvalidArgument,
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified");
        return authorization is not null ? VerifyHeader(request, authorization, hostBucket) : VerifyPresigned(request, query, hostBucket);
    }

    private SigV4Result VerifyHeader(SigV4Request request, string authorization, string? hostBucket)
    {
        var credential = authorization[HeaderPrefix.Length..].Trim();
        var colon = credential.LastIndexOf(':');
        if (colon <= 0 || colon == credential.Length - 1)
            return SigV4Result.Fail(SigV4Error.InvalidArgument, "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature");
        var (accessKeyId, signature) = (credential[..colon], credential[(colon + 1)..]);

        // x-amz-date, when sent, is the request's time and is signed among the x-amz-* headers; the Date slot is empty.
        var amzDate = request.Headers.GetFirst("x-amz-date");
        var date = request.Headers.GetFirst("date");
        if (!TryParseDate(amzDate ?? date, out var requestTime))
            return SigV4Result.Fail(SigV4Error.AccessDenied, "AWS authentication requires a valid Date or x-amz-date header", accessKeyId, "s3");
        if (!credentials.TryGetSecret(accessKeyId, out var secret))
            return UnknownKey(accessKeyId);
        var now = time.GetUtcNow();
        if ((now - requestTime).Duration() > AllowedSkew)
            return SigV4Result.Fail(SigV4Error.RequestTimeTooSkewed,
                $"The difference between the request time ({requestTime.UtcDateTime.ToString("r", CultureInfo.InvariantCulture)}) and the server's time " +
                $"({now.UtcDateTime.ToString("r", CultureInfo.InvariantCulture)}) is too large.", accessKeyId, "s3");
        return Check(request, amzDate is null ? date!.Trim() : "", request.Headers, hostBucket, accessKeyId, secret, signature, requestTime,
            presigned: false, expiresAt: null);
    }

    private SigV4Result VerifyPresigned(SigV4Request request, List<(string Name, string Value)> query, string? hostBucket)
    {
        var accessKeyId = Find(query, "AWSAccessKeyId");
        var signature = Find(query, "Signature");
        var expires = Find(query, "Expires");
        if (string.IsNullOrEmpty(accessKeyId) || string.IsNullOrEmpty(signature) || expires is null)
            return SigV4Result.Fail(SigV4Error.AccessDenied, "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters", accessKeyId, "s3");
        if (!long.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
            return SigV4Result.Fail(SigV4Error.AccessDenied, $"Invalid date (should be seconds since epoch): {Truncate(expires)}", accessKeyId, "s3");
        if (!credentials.TryGetSecret(accessKeyId, out var secret))
            return UnknownKey(accessKeyId);
        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(seconds);
        var now = time.GetUtcNow();
        if (now > expiresAt)
            return SigV4Result.Fail(SigV4Error.AccessDenied, "Request has expired", accessKeyId, "s3");
        // x-amz-* parameters of the query are signed as headers (botocore's presigner moves them there).
        var amz = new SigV4Headers();
        foreach (var (name, values) in request.Headers)
            foreach (var value in values) amz.Add(name, value);
        foreach (var (name, value) in query)
            if (name.StartsWith("x-amz-", StringComparison.OrdinalIgnoreCase)) amz.Add(name, value);
        return Check(request, expires, amz, hostBucket, accessKeyId, secret, signature, now, presigned: true, expiresAt);
    }

    private static string StringToSign(SigV4Request request, string date, SigV4Headers amzHeaders, string resource)
        => SigV2Canonicalizer.StringToSign(request.Method, request.Headers.GetFirst("content-md5")?.Trim() ?? "",
            request.Headers.GetFirst("content-type")?.Trim() ?? "", date, SigV2Canonicalizer.CanonicalizedAmzHeaders(amzHeaders), resource);

    private SigV4Result Check(SigV4Request request, string date, SigV4Headers amzHeaders, string? hostBucket, string accessKeyId, string secret,
        string signature, DateTimeOffset requestTime, bool presigned, DateTimeOffset? expiresAt)
    {
        var provided = Encoding.UTF8.GetBytes(signature);
        var stringToSign = StringToSign(request, date, amzHeaders, SigV2Canonicalizer.CanonicalizedResource(hostBucket, request.RawPath, request.RawQuery));
        var computed = SigV2Canonicalizer.Sign(secret, stringToSign);
        var verified = CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(computed), provided);
        foreach (var resource in verified ? [] : SigV2Canonicalizer.BotocoreResources(hostBucket, request.RawPath, request.RawQuery))
        {
            computed = SigV2Canonicalizer.Sign(secret, StringToSign(request, date, amzHeaders, resource));
            if (verified = CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(computed), provided)) break;
        }
        if (!verified) return SigV4Result.Mismatch(accessKeyId, "s3", stringToSign, null, signature);
        return SigV4Result.Success(new SigV4AuthContext(accessKeyId, region, "s3", requestTime, [], computed, presigned, expiresAt,
            PayloadMode.Unsigned, null, null, [], []) { SignatureVersion = 2 });
    }

    private static SigV4Result UnknownKey(string accessKeyId)
        => SigV4Result.Fail(SigV4Error.InvalidAccessKeyId, "The AWS Access Key Id you provided does not exist in our records.", accessKeyId, "s3");

    /// <summary>An HTTP date ("Tue, 27 Mar 2007 19:36:42 +0000" or "... GMT", as clients send them) or SigV4's basic ISO 8601 form.</summary>
    private static bool TryParseDate(string? value, out DateTimeOffset time)
    {
        time = default;
        if (string.IsNullOrWhiteSpace(value)) return false;
        var v = value.Trim();
        return DateTimeOffset.TryParseExact(v, SigV4Canonicalizer.TimestampFormat, CultureInfo.InvariantCulture,
                   DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time)
            || DateTimeOffset.TryParse(v, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);
    }

    private static string? Find(List<(string Name, string Value)> query, string name) => SigV4Verifier.Find(query, name);

    private static string Truncate(string s) => s.Length <= 64 ? s : s[..64] + "...";
}
