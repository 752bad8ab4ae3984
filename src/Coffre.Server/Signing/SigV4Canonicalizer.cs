using System.Security.Cryptography;
using System.Text;

namespace Coffre.Server.Signing;

/// <summary>
/// The canonicalisation and key-derivation primitives of AWS Signature Version 4.
/// Public so that tests and tools can sign requests the same way the verifier checks them.
/// </summary>
public static class SigV4Canonicalizer
{
    public const string Algorithm = "AWS4-HMAC-SHA256";
    public const string EmptyPayloadSha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    public const string UnsignedPayload = "UNSIGNED-PAYLOAD";
    public const string StreamingSignedPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
    public const string StreamingSignedPayloadTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
    public const string StreamingUnsignedPayloadTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
    public const string TimestampFormat = "yyyyMMdd'T'HHmmss'Z'";

    private const string HexUpper = "0123456789ABCDEF";

    private static bool IsUnreserved(byte b) =>
        (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '-' || b == '_' || b == '.' || b == '~';

    /// <summary>AWS URI-encoding of UTF-8 bytes: unreserved characters kept, everything else %XX (uppercase).</summary>
    public static string UriEncode(ReadOnlySpan<byte> utf8, bool encodeSlash)
    {
        var sb = new StringBuilder(utf8.Length + 8);
        foreach (var b in utf8)
        {
            if (IsUnreserved(b) || (b == '/' && !encodeSlash))
                sb.Append((char)b);
            else
                sb.Append('%').Append(HexUpper[b >> 4]).Append(HexUpper[b & 0xF]);
        }
        return sb.ToString();
    }

    public static string UriEncode(string value, bool encodeSlash) => UriEncode(Encoding.UTF8.GetBytes(value), encodeSlash);

    /// <summary>Percent-decodes to bytes. Malformed escapes are kept literally. Non-ASCII characters are taken as UTF-8.</summary>
    public static byte[] PercentDecode(string raw, bool plusAsSpace)
    {
        var bytes = Encoding.UTF8.GetBytes(raw);
        var output = new byte[bytes.Length];
        var n = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            var b = bytes[i];
            if (b == '%' && i + 2 < bytes.Length && HexValue(bytes[i + 1]) >= 0 && HexValue(bytes[i + 2]) >= 0)
            {
                output[n++] = (byte)((HexValue(bytes[i + 1]) << 4) | HexValue(bytes[i + 2]));
                i += 2;
            }
            else if (b == '+' && plusAsSpace)
                output[n++] = (byte)' ';
            else
                output[n++] = b;
        }
        return output.AsSpan(0, n).ToArray();
    }

    internal static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>
    /// Canonical URI. S3 (<paramref name="s3"/> = true): the path is neither normalised nor double-encoded — each
    /// segment is decoded and re-encoded once (so "$" sent raw and "%24" both become "%24"). Other services: the path
    /// as sent is normalised (dot segments, repeated slashes) and URI-encoded again (double encoding of the wire form).
    /// </summary>
    public static string CanonicalUri(string rawPath, bool s3)
    {
        if (string.IsNullOrEmpty(rawPath))
            return "/";
        if (s3)
        {
            var sb = new StringBuilder(rawPath.Length + 8);
            if (rawPath[0] != '/')
                sb.Append('/');
            var first = true;
            foreach (var segment in rawPath.Split('/'))
            {
                if (!first)
                    sb.Append('/');
                first = false;
                sb.Append(UriEncode(PercentDecode(segment, plusAsSpace: false), encodeSlash: true));
            }
            return sb.ToString();
        }
        return UriEncode(NormalizePath(rawPath), encodeSlash: false);
    }

    /// <summary>RFC 3986 style normalisation used by non-S3 services: removes "." / ".." segments and empty segments.</summary>
    public static string NormalizePath(string path)
    {
        var stack = new List<string>();
        foreach (var segment in path.Split('/'))
        {
            if (segment.Length == 0 || segment == ".")
                continue;
            if (segment == "..")
            {
                if (stack.Count > 0)
                    stack.RemoveAt(stack.Count - 1);
                continue;
            }
            stack.Add(segment);
        }
        var result = "/" + string.Join('/', stack);
        if (stack.Count > 0 && path.EndsWith('/'))
            result += "/";
        return result;
    }

    /// <summary>
    /// Parses a raw query string into decoded (name, value) pairs. '+' is taken as a space. Empty pieces are skipped.
    /// </summary>
    public static List<(string Name, string Value)> ParseQuery(string rawQuery)
    {
        var result = new List<(string, string)>();
        if (string.IsNullOrEmpty(rawQuery))
            return result;
        foreach (var piece in rawQuery.TrimStart('?').Split('&'))
        {
            if (piece.Length == 0)
                continue;
            var eq = piece.IndexOf('=');
            var name = eq < 0 ? piece : piece[..eq];
            var value = eq < 0 ? "" : piece[(eq + 1)..];
            result.Add((Encoding.UTF8.GetString(PercentDecode(name, true)), Encoding.UTF8.GetString(PercentDecode(value, true))));
        }
        return result;
    }

    /// <summary>
    /// Canonical query string: every name and value decoded from the raw form ('+' = space, any escape case,
    /// unencoded characters tolerated) and re-encoded per AWS rules, sorted by encoded name then encoded value.
    /// Parameters named <paramref name="excludeName"/> (exact, case-sensitive, decoded) are left out.
    /// </summary>
    public static string CanonicalQuery(string rawQuery, string? excludeName = null)
    {
        if (string.IsNullOrEmpty(rawQuery))
            return "";
        var pairs = new List<(string Name, string Value)>();
        foreach (var piece in rawQuery.TrimStart('?').Split('&'))
        {
            if (piece.Length == 0)
                continue;
            var eq = piece.IndexOf('=');
            var rawName = eq < 0 ? piece : piece[..eq];
            var rawValue = eq < 0 ? "" : piece[(eq + 1)..];
            var nameBytes = PercentDecode(rawName, true);
            if (excludeName is not null && Encoding.UTF8.GetString(nameBytes) == excludeName)
                continue;
            pairs.Add((UriEncode(nameBytes, true), UriEncode(PercentDecode(rawValue, true), true)));
        }
        pairs.Sort((a, b) =>
        {
            var c = string.CompareOrdinal(a.Name, b.Name);
            return c != 0 ? c : string.CompareOrdinal(a.Value, b.Value);
        });
        var sb = new StringBuilder();
        foreach (var (name, value) in pairs)
        {
            if (sb.Length > 0)
                sb.Append('&');
            sb.Append(name).Append('=').Append(value);
        }
        return sb.ToString();
    }

    /// <summary>Trims a header value and collapses runs of spaces/tabs into one space.</summary>
    public static string TrimAndCollapse(string value)
    {
        var span = value.AsSpan().Trim(" \t\r\n");
        var sb = new StringBuilder(span.Length);
        var inSpace = false;
        foreach (var c in span)
        {
            if (c is ' ' or '\t')
            {
                if (!inSpace)
                    sb.Append(' ');
                inSpace = true;
            }
            else
            {
                sb.Append(c);
                inSpace = false;
            }
        }
        return sb.ToString();
    }

    /// <summary>Canonical value of one header: each value trimmed/collapsed, joined with ','.</summary>
    public static string CanonicalHeaderValue(IReadOnlyList<string> values)
    {
        if (values.Count == 1)
            return TrimAndCollapse(values[0]);
        return string.Join(',', values.Select(TrimAndCollapse));
    }

    /// <summary>Builds the canonical request. <paramref name="canonicalHeaders"/> must be in signed-header order.</summary>
    public static string CanonicalRequest(string method, string canonicalUri, string canonicalQuery,
        IReadOnlyList<(string Name, string Value)> canonicalHeaders, string signedHeaders, string payloadHash)
    {
        var sb = new StringBuilder(256);
        sb.Append(method).Append('\n').Append(canonicalUri).Append('\n').Append(canonicalQuery).Append('\n');
        foreach (var (name, value) in canonicalHeaders)
            sb.Append(name).Append(':').Append(value).Append('\n');
        sb.Append('\n').Append(signedHeaders).Append('\n').Append(payloadHash);
        return sb.ToString();
    }

    public static string Scope(string date, string region, string service) => $"{date}/{region}/{service}/aws4_request";

    public static string StringToSign(string timestamp, string scope, string canonicalRequest)
        => $"{Algorithm}\n{timestamp}\n{scope}\n{Sha256Hex(Encoding.UTF8.GetBytes(canonicalRequest))}";

    /// <summary>HMAC chain "AWS4"+secret → date → region → service → "aws4_request". The result is secret material.</summary>
    public static byte[] DeriveSigningKey(string secretKey, string date, string region, string service)
    {
        var kSecret = Encoding.UTF8.GetBytes("AWS4" + secretKey);
        try
        {
            var kDate = HMACSHA256.HashData(kSecret, Encoding.UTF8.GetBytes(date));
            var kRegion = HMACSHA256.HashData(kDate, Encoding.UTF8.GetBytes(region));
            var kService = HMACSHA256.HashData(kRegion, Encoding.UTF8.GetBytes(service));
            var key = HMACSHA256.HashData(kService, "aws4_request"u8);
            CryptographicOperations.ZeroMemory(kDate);
            CryptographicOperations.ZeroMemory(kRegion);
            CryptographicOperations.ZeroMemory(kService);
            return key;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kSecret);
        }
    }

    /// <summary>Lowercase hex HMAC-SHA256 of the string to sign.</summary>
    public static string Sign(ReadOnlySpan<byte> signingKey, string stringToSign)
        => Convert.ToHexStringLower(HMACSHA256.HashData(signingKey, Encoding.UTF8.GetBytes(stringToSign)));

    public static string Sha256Hex(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>String to sign of one aws-chunked data chunk.</summary>
    public static string ChunkStringToSign(string timestamp, string scope, string previousSignature, ReadOnlySpan<byte> chunkData)
        => $"AWS4-HMAC-SHA256-PAYLOAD\n{timestamp}\n{scope}\n{previousSignature}\n{EmptyPayloadSha256}\n{Sha256Hex(chunkData)}";

    /// <summary>Canonical form of trailing headers for the trailer signature: "name:value\n" per trailer.</summary>
    public static string CanonicalTrailers(IEnumerable<KeyValuePair<string, string>> trailers)
    {
        var sb = new StringBuilder();
        foreach (var (name, value) in trailers)
            sb.Append(name.ToLowerInvariant()).Append(':').Append(value.Trim()).Append('\n');
        return sb.ToString();
    }

    /// <summary>String to sign of the trailer chunk.</summary>
    public static string TrailerStringToSign(string timestamp, string scope, string previousSignature, string canonicalTrailers)
        => $"AWS4-HMAC-SHA256-TRAILER\n{timestamp}\n{scope}\n{previousSignature}\n{Sha256Hex(Encoding.UTF8.GetBytes(canonicalTrailers))}";

    internal static void WriteHexLower(ReadOnlySpan<byte> bytes, Span<byte> destination)
    {
        const string hex = "0123456789abcdef";
        for (var i = 0; i < bytes.Length; i++)
        {
            destination[2 * i] = (byte)hex[bytes[i] >> 4];
            destination[2 * i + 1] = (byte)hex[bytes[i] & 0xF];
        }
    }

    internal static bool IsLowerHex(ReadOnlySpan<char> s, int length)
    {
        if (s.Length != length)
            return false;
        foreach (var c in s)
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                return false;
        return true;
    }

    internal static bool IsHex(ReadOnlySpan<char> s, int length)
    {
        if (s.Length != length)
            return false;
        foreach (var c in s)
            if (!char.IsAsciiHexDigit(c))
                return false;
        return true;
    }
}
