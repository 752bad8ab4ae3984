using System.Text;

namespace Coffre.Storage;

/// <summary>
/// Reversible mapping from a blob key to an S3 object key that every S3 server handles the same way.
/// Bytes in [A-Za-z0-9._-] pass through; "/" passes through only between two non-empty segments; every
/// other byte (including "%", and the dots of a segment made only of dots such as "." or "..") becomes %XX.
/// So the encoded key never has an empty, "." or ".." path segment, a leading or trailing "/", a space, a
/// "+" or a non-ASCII byte: servers that map keys to files (s3rver, some gateways) and SDKs that normalise
/// URL paths cannot misread it. Coffre's usual keys ("objects/&lt;id&gt;/&lt;id&gt;") are unchanged.
/// </summary>
public static class S3KeyCodec
{
    public static string Encode(string key) => EncodeBytes(BlobKeys.ToUtf8(key));

    private static string EncodeBytes(ReadOnlySpan<byte> utf8)
    {
        var sb = new StringBuilder(utf8.Length + 16);
        var segments = SplitSegments(utf8);
        for (var i = 0; i < segments.Count; i++)
        {
            var seg = utf8[segments[i]];
            if (i > 0)
            {
                var prevEmpty = segments[i - 1].GetOffsetAndLength(utf8.Length).Length == 0;
                sb.Append(!prevEmpty && seg.Length > 0 ? "/" : "%2F");
            }
            var dotsOnly = seg.Length > 0 && seg.IndexOfAnyExcept((byte)'.') < 0;
            foreach (var b in seg)
            {
                if (!dotsOnly && (b is (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z')
                        or (>= (byte)'0' and <= (byte)'9') or (byte)'.' or (byte)'_' or (byte)'-'))
                    sb.Append((char)b);
                else
                    sb.Append('%').Append(Convert.ToHexString([b]));
            }
        }
        return sb.ToString();
    }

    private static List<Range> SplitSegments(ReadOnlySpan<byte> utf8)
    {
        var list = new List<Range>();
        var start = 0;
        for (var i = 0; i <= utf8.Length; i++)
        {
            if (i == utf8.Length || utf8[i] == (byte)'/')
            {
                list.Add(new Range(start, i));
                start = i + 1;
            }
        }
        return list;
    }

    /// <summary>Decodes an encoded key; false when <paramref name="encoded"/> is not something Encode produces.</summary>
    public static bool TryDecode(string encoded, out string key)
    {
        key = "";
        var bytes = new List<byte>(encoded.Length);
        for (var i = 0; i < encoded.Length; i++)
        {
            var c = encoded[i];
            if (c == '%')
            {
                if (i + 2 >= encoded.Length) return false;
                if (!byte.TryParse(encoded.AsSpan(i + 1, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out var b))
                    return false;
                bytes.Add(b);
                i += 2;
            }
            else if (c < 0x80)
            {
                bytes.Add((byte)c);
            }
            else
            {
                return false;
            }
        }
        try
        {
            key = BlobKeys.FromUtf8(bytes.ToArray());
        }
        catch (ArgumentException)
        {
            return false;
        }
        // Only canonical encodings: guards against foreign objects that happen to decode.
        return key.Length > 0 && string.Equals(EncodeBytes(Encoding.UTF8.GetBytes(key)), encoded, StringComparison.Ordinal);
    }

    /// <summary>
    /// The longest server-side prefix that every encoded key starting (in decoded form) with
    /// <paramref name="prefix"/> starts with. Callers still filter decoded keys with StartsWith.
    /// </summary>
    public static string ListingPrefix(string prefix)
    {
        if (prefix.Length == 0) return "";
        var utf8 = Encoding.UTF8.GetBytes(prefix);
        var lastSlash = Array.LastIndexOf(utf8, (byte)'/');
        var tail = utf8.AsSpan(lastSlash + 1);
        if (tail.Length > 0 && tail.IndexOfAnyExcept((byte)'.') >= 0)
            return EncodeBytes(utf8); // the last segment is already non-empty and not dots-only: stable
        return lastSlash <= 0 ? "" : EncodeBytes(utf8.AsSpan(0, lastSlash));
    }
}
