using System.Security.Cryptography;
using System.Text;

namespace Coffre.Server.Signing;

/// <summary>
/// The string to sign of AWS Signature Version 2 for S3 (docs/signing-v2.md), from the S3 developer guide's "Signing and
/// authenticating REST requests": verb, Content-MD5, Content-Type, date, the x-amz-* headers, and the resource (path
/// style, with the subresources that name an operation). Pure functions over plain data; no secret is kept.
/// </summary>
public static class SigV2Canonicalizer
{
    /// <summary>
    /// The query parameters that belong to the CanonicalizedResource: the guide's subresources and response overrides,
    /// extended as botocore's HmacV1 signer (the AWS CLI v1's `s3 presign`, boto3 with signature_version 's3') extends
    /// them. Any other parameter (prefix, marker, max-keys...) is not signed. A client that leaves one of these out of
    /// its string to sign gets SignatureDoesNotMatch, with the string Coffre expected in the error.
    /// </summary>
    public static readonly IReadOnlySet<string> Subresources = new HashSet<string>(StringComparer.Ordinal)
    {
        "accelerate", "acl", "analytics", "cors", "defaultObjectAcl", "delete", "inventory", "lifecycle", "location", "logging",
        "metrics", "notification", "object-lock", "partNumber", "policy", "replication", "requestPayment", "restore", "select",
        "select-type", "storageClass", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning", "versions", "website",
        "response-cache-control", "response-content-disposition", "response-content-encoding", "response-content-language",
        "response-content-type", "response-expires",
    };

    /// <summary>
    /// CanonicalizedResource: "/" + the bucket when the Host named it (virtual-hosted style), then the path exactly as
    /// sent (its percent-escapes as the client wrote them), then "?" and the subresources sorted by name, each with its
    /// decoded value ("versionId=3", "acl").
    /// </summary>
    public static string CanonicalizedResource(string? hostBucket, string rawPath, string rawQuery)
    {
        var resource = new StringBuilder();
        if (hostBucket is not null) resource.Append('/').Append(hostBucket);
        resource.Append(rawPath.Length == 0 ? "/" : rawPath);
        var subresources = new List<(string Name, string? Value)>();
        foreach (var piece in rawQuery.Split('&'))
        {
            var eq = piece.IndexOf('=');
            var name = eq < 0 ? piece : piece[..eq];
            if (Subresources.Contains(name)) subresources.Add((name, eq < 0 ? null : Uri.UnescapeDataString(piece[(eq + 1)..])));
        }
        // Stable: a repeated name keeps its order, as the clients' sort does.
        subresources = [.. subresources.OrderBy(s => s.Name, StringComparer.Ordinal)];
        for (var i = 0; i < subresources.Count; i++)
        {
            resource.Append(i == 0 ? '?' : '&').Append(subresources[i].Name);
            if (subresources[i].Value is { } value) resource.Append('=').Append(value);
        }
        return resource.ToString();
    }

    /// <summary>
    /// The resources botocore's HmacV1 signer (boto3 with signature_version 's3', the AWS CLI v1) signs where they differ
    /// from <see cref="CanonicalizedResource"/>, tried only when that one does not verify. botocore signs the path of its
    /// service model's request URI, not the one it sends: "/bucket/" for a path-style bucket request sent as "/bucket",
    /// and "/bucket?list-type=2" for ListObjectsV2 (the model's URI carries that parameter, which is no subresource).
    /// botocore 1.29 (Debian 12's python3-botocore) also repeats the model URI's subresource before the sorted ones:
    /// "/bucket/key?tagging?tagging", "/bucket?versioning?versioning". Each form binds the same method, path and
    /// subresources as the standard one, so accepting it widens nothing.
    /// </summary>
    public static IEnumerable<string> BotocoreResources(string? hostBucket, string rawPath, string rawQuery)
    {
        var standard = CanonicalizedResource(hostBucket, rawPath, rawQuery);
        var question = standard.IndexOf('?');
        var (path, suffix) = question < 0 ? (standard, "") : (standard[..question], standard[question..]);
        // A bucket's resource ("/bucket/") may be signed without its slash there.
        string[] paths = path.Length > 2 && path.IndexOf('/', 1) == path.Length - 1 ? [path, path[..^1]] : [path];
        foreach (var piece in rawQuery.Split('&'))
            if (piece.Length > 0 && !piece.Contains('=') && Subresources.Contains(piece))
                foreach (var p in paths)
                    yield return p + "?" + piece + suffix;
        var bucketOnly = hostBucket is null && rawPath.Length > 1 && rawPath.LastIndexOf('/') == 0;
        if (bucketOnly) yield return CanonicalizedResource(null, rawPath + "/", rawQuery);
        if (rawQuery.Split('&').FirstOrDefault(p => p.StartsWith("list-type=", StringComparison.Ordinal)) is { } listType)
        {
            var bucketPath = hostBucket is null ? rawPath : "/" + hostBucket + (rawPath == "/" ? "" : rawPath);
            yield return bucketPath + "?" + listType;
        }
    }

    /// <summary>
    /// CanonicalizedAmzHeaders: every x-amz-* header, name lowercased, sorted by name; the values of a repeated header
    /// joined by ",", each trimmed (inner spaces are kept, as clients sign them; Kestrel refuses folded header lines);
    /// one "name:value\n" per header.
    /// </summary>
    public static string CanonicalizedAmzHeaders(IEnumerable<KeyValuePair<string, IReadOnlyList<string>>> headers)
    {
        var amz = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (name, values) in headers)
        {
            if (!name.StartsWith("x-amz-", StringComparison.OrdinalIgnoreCase)) continue;
            var lower = name.ToLowerInvariant();
            if (!amz.TryGetValue(lower, out var list)) amz[lower] = list = [];
            foreach (var value in values) list.Add(value.Trim());
        }
        var text = new StringBuilder();
        foreach (var (name, values) in amz) text.Append(name).Append(':').AppendJoin(',', values).Append('\n');
        return text.ToString();
    }

    /// <summary>
    /// The string to sign. <paramref name="date"/> is the Date header, the empty string when x-amz-date is sent (it is
    /// signed among the x-amz-* headers then), or a presigned URL's Expires.
    /// </summary>
    public static string StringToSign(string method, string contentMd5, string contentType, string date, string amzHeaders, string resource)
        => $"{method}\n{contentMd5}\n{contentType}\n{date}\n{amzHeaders}{resource}";

    /// <summary>Base64(HMAC-SHA1(secret, UTF-8(string to sign))).</summary>
    public static string Sign(string secretKey, string stringToSign)
        => Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secretKey), Encoding.UTF8.GetBytes(stringToSign)));

    /// <summary>The string to sign as S3 shows it in StringToSignBytes: its UTF-8 bytes, two hex digits each, space-separated.</summary>
    public static string Bytes(string stringToSign)
        => string.Join(' ', Encoding.UTF8.GetBytes(stringToSign).Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
}
