using System.Text;
using Coffre.Server.Signing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Coffre.Server.S3;

/// <summary>
/// Bucket, key and query values from the raw request target, decoded strictly: a '%' not followed by two hex digits,
/// or escapes that decode to bytes that are not UTF-8 (a lone %FE, overlong forms, surrogates), are refused with S3's
/// 400 InvalidURI rather than kept literally, which would let two different URLs name one object.
/// </summary>
public static class S3Uri
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Bucket and key from the raw request target, on exactly the path the signature covered
    /// (<see cref="SigV4RequestAdapter.SplitTarget"/>: an absolute-form target is not dot-segment normalised), so that
    /// encoded slashes and '+' in keys survive exactly. Also checks every query value decodes.
    /// With <paramref name="hostBucket"/> (virtual-hosted style) the bucket is that one and the whole path after its first
    /// '/' is the key ("/a//b" is key "a//b").
    /// </summary>
    public static (string? Bucket, string? Key) ParsePath(HttpContext http, string? hostBucket = null)
    {
        var (raw, query) = SigV4RequestAdapter.SplitTarget(http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? http.Request.Path.Value ?? "/");
        CheckQuery(query);
        if (hostBucket is not null)
        {
            var objectKey = raw.StartsWith('/') ? raw[1..] : raw;
            return (hostBucket, objectKey.Length == 0 ? null : Decode(objectKey, plusIsSpace: false));
        }
        var path = raw.TrimStart('/');
        if (path.Length == 0) return (null, null);
        var slash = path.IndexOf('/');
        if (slash < 0) return (Decode(path, plusIsSpace: false), null);
        var bucket = Decode(path[..slash], plusIsSpace: false);
        var key = path[(slash + 1)..];
        return (bucket, key.Length == 0 ? null : Decode(key, plusIsSpace: false));
    }

    /// <summary>Every name and value of a raw query must decode (the handlers read them from ASP.NET's lenient decoding).</summary>
    private static void CheckQuery(string query)
    {
        foreach (var pair in query.Split('&'))
            Decode(pair, plusIsSpace: true);
    }

    /// <summary>Percent-decodes <paramref name="value"/> into UTF-8 text; InvalidURI when an escape or the UTF-8 is malformed.</summary>
    public static string Decode(string value, bool plusIsSpace)
    {
        if (value.IndexOf('%') < 0 && !(plusIsSpace && value.Contains('+'))) return value;
        var bytes = new byte[Encoding.UTF8.GetMaxByteCount(value.Length)];
        var n = 0;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '%')
            {
                if (i + 2 >= value.Length || !char.IsAsciiHexDigit(value[i + 1]) || !char.IsAsciiHexDigit(value[i + 2]))
                    throw new S3Exception(S3Error.InvalidUri, "Couldn't parse the specified URI: a '%' is not followed by two hexadecimal digits.");
                bytes[n++] = byte.Parse(value.AsSpan(i + 1, 2), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture);
                i += 2;
            }
            else if (c == '+' && plusIsSpace)
            {
                bytes[n++] = (byte)' ';
            }
            else
            {
                n += Encoding.UTF8.GetBytes(value.AsSpan(i, char.IsHighSurrogate(c) && i + 1 < value.Length ? 2 : 1), bytes.AsSpan(n));
                if (char.IsHighSurrogate(c) && i + 1 < value.Length) i++;
            }
        }
        try
        {
            return StrictUtf8.GetString(bytes, 0, n);
        }
        catch (DecoderFallbackException)
        {
            throw new S3Exception(S3Error.InvalidUri, "Couldn't parse the specified URI: its percent-escapes are not UTF-8.");
        }
    }
}
