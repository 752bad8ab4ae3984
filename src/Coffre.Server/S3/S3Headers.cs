using System.Globalization;
using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Objects.Integrity;
using Microsoft.AspNetCore.Http;

namespace Coffre.Server.S3;

/// <summary>Translation between HTTP headers and object metadata, ranges, conditions and integrity values.</summary>
public static class S3Headers
{
    private const string MetaPrefix = "x-amz-meta-";
    private const int MaxUserMetadataBytes = 2048;

    public static ObjectMetadata ReadMetadata(HttpRequest request)
    {
        var user = new Dictionary<string, string>(StringComparer.Ordinal);
        var size = 0;
        foreach (var (name, value) in request.Headers)
        {
            if (!name.StartsWith(MetaPrefix, StringComparison.OrdinalIgnoreCase)) continue;
            var key = name[MetaPrefix.Length..].ToLowerInvariant();
            user[key] = Joined(value);
            size += key.Length + user[key].Length;
        }
        if (size > MaxUserMetadataBytes)
            throw new S3Exception(S3Error.MetadataTooLarge);
        string? H(string n) => request.Headers.TryGetValue(n, out var v) && v.Count > 0 ? Joined(v) : null;
        return new ObjectMetadata
        {
            ContentType = H("Content-Type"),
            ContentDisposition = H("Content-Disposition"),
            ContentEncoding = StripAwsChunked(H("Content-Encoding")),
            ContentLanguage = H("Content-Language"),
            CacheControl = H("Cache-Control"),
            Expires = H("Expires"),
            User = user,
        };
    }

    /// <summary>
    /// A header sent on several lines, as HTTP (RFC 9110 §5.3) and S3 join it: "Content-Encoding: deflate" and
    /// "Content-Encoding: gzip" are stored as "deflate, gzip" (StringValues.ToString() would drop the space).
    /// </summary>
    private static string Joined(Microsoft.Extensions.Primitives.StringValues values) => values.Count == 1 ? values[0]! : string.Join(", ", values.ToArray());

    /// <summary>aws-chunked is a transfer detail of the request, not part of the object's Content-Encoding.</summary>
    private static string? StripAwsChunked(string? encoding)
    {
        if (encoding is null) return null;
        var codings = encoding.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (!codings.Any(IsAwsChunked)) return encoding;
        var joined = string.Join(", ", codings.Where(e => !IsAwsChunked(e)));
        return joined.Length == 0 ? null : joined;
    }

    private static bool IsAwsChunked(string coding) => coding.Equals("aws-chunked", StringComparison.OrdinalIgnoreCase);

    public static void WriteObjectHeaders(HttpResponse response, ObjectRecord record, ObjectMetadata metadata, bool withChecksum)
    {
        var h = response.Headers;
        h.ETag = Quote(record.ETag);
        h.LastModified = record.Modified.ToString("R", CultureInfo.InvariantCulture);
        h.AcceptRanges = "bytes";
        h.ContentType = metadata.ContentType ?? "binary/octet-stream";
        if (metadata.ContentDisposition is { } cd) h.ContentDisposition = cd;
        if (metadata.ContentEncoding is { } ce) h.ContentEncoding = ce;
        if (metadata.ContentLanguage is { } cl) h.ContentLanguage = cl;
        if (metadata.CacheControl is { } cc) h.CacheControl = cc;
        if (metadata.Expires is { } ex) h.Expires = ex;
        foreach (var (k, v) in metadata.User) h[MetaPrefix + k] = v;
        if (withChecksum && metadata.ChecksumAlgorithm is { } alg && metadata.ChecksumValue is { } value
            && ChecksumAlgorithms.TryParse(alg, out var a))
        {
            h[a.HeaderName()] = value;
            if (metadata.ChecksumType is { } t) h["x-amz-checksum-type"] = t;
        }
    }

    public static string Quote(string etag) => "\"" + etag + "\"";

    /// <summary>S3 conditional writes (PutObject, CopyObject, CompleteMultipartUpload): If-Match: etag, If-None-Match: *.</summary>
    public static WriteCondition? ReadWriteCondition(HttpRequest request)
    {
        string? H(string n) => request.Headers.TryGetValue(n, out var v) && v.Count > 0 ? Joined(v) : null;
        var ifMatch = H("If-Match");
        var ifNoneMatch = H("If-None-Match");
        if (ifMatch is null && ifNoneMatch is null) return null;
        if (ifNoneMatch is not null && ifNoneMatch.Trim() != "*")
            throw new S3Exception(S3Error.NotImplemented, "If-None-Match on a write only supports the value '*'.");
        return new WriteCondition(ifMatch, ifNoneMatch is not null);
    }

    /// <summary>Parses "bytes=a-b", "bytes=a-", "bytes=-n". Null when absent or not a single byte range (S3 then serves the whole object).</summary>
    public static (long Start, long End)? ParseRange(string? header, long size)
    {
        if (string.IsNullOrWhiteSpace(header) || !header.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase)) return null;
        var spec = header[6..].Trim();
        if (spec.Contains(',')) return null;
        var dash = spec.IndexOf('-');
        if (dash < 0) return null;
        var first = spec[..dash].Trim();
        var last = spec[(dash + 1)..].Trim();
        if (first.Length == 0)
        {
            if (!long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var suffix)) return null;
            if (suffix == 0 || size == 0) throw new S3Exception(S3Error.InvalidRange) { Extra = RangeExtra(header, size) };
            return (Math.Max(0, size - suffix), size);
        }
        if (!long.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var start)) return null;
        long end;
        if (last.Length == 0) end = size;
        else if (!long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var lastByte) || lastByte < start) return null;
        else end = Math.Min(lastByte, size - 1) + 1; // not lastByte + 1: bytes=0-9223372036854775807 would overflow
        if (start >= size) throw new S3Exception(S3Error.InvalidRange) { Extra = RangeExtra(header, size) };
        return (start, end);
    }

    private static Dictionary<string, string> RangeExtra(string header, long size) => new()
    {
        ["RangeRequested"] = header,
        ["ActualObjectSize"] = size.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>RFC 7232 evaluation as S3 does it: null to proceed, else NotModified (304) or PreconditionFailed (412).</summary>
    public static S3Error? EvaluateConditions(HttpRequest request, ObjectRecord record, bool isGetOrHead)
    {
        var etag = record.ETag;
        var modified = TruncateToSeconds(record.Modified);
        string? H(string n) => request.Headers.TryGetValue(n, out var v) && v.Count > 0 ? Joined(v) : null;

        var ifMatch = H("If-Match");
        var ifUnmodified = ParseDate(H("If-Unmodified-Since"));
        if (ifMatch is not null)
        {
            if (!EtagListMatches(ifMatch, etag)) return S3Error.PreconditionFailed;
        }
        else if (ifUnmodified is { } u && modified > u)
        {
            return S3Error.PreconditionFailed;
        }

        var ifNoneMatch = H("If-None-Match");
        var ifModified = ParseDate(H("If-Modified-Since"));
        if (ifNoneMatch is not null)
        {
            if (EtagListMatches(ifNoneMatch, etag)) return isGetOrHead ? S3Error.NotModified : S3Error.PreconditionFailed;
        }
        else if (isGetOrHead && ifModified is { } m && modified <= m)
        {
            return S3Error.NotModified;
        }
        return null;
    }

    private static bool EtagListMatches(string header, string etag) =>
        header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Any(t => t == "*" || t.Trim('"').Equals(etag, StringComparison.Ordinal) || t.StartsWith("W/", StringComparison.Ordinal) && t[2..].Trim('"') == etag);

    private static DateTimeOffset? ParseDate(string? value) =>
        value is not null && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var d) ? d : null;

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset t) => new(t.Ticks - t.Ticks % TimeSpan.TicksPerSecond, t.Offset);
}
