using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Coffre.Kms.Keys;

/// <summary>Canonical encodings of a caller's context dictionary (docs/format.md §3).</summary>
public static class EncryptionContext
{
    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();

    /// <summary>u32(count) || for each pair, sorted by the UTF-8 bytes of the key: lp(utf8 key) || lp(utf8 value).</summary>
    public static byte[] Canonical(IReadOnlyDictionary<string, string>? context)
    {
        context ??= Empty;
        var pairs = Sorted(context);
        var size = 4;
        foreach (var (k, v) in pairs)
            size += 8 + Encoding.UTF8.GetByteCount(k) + Encoding.UTF8.GetByteCount(v);
        var result = new byte[size];
        var span = result.AsSpan();
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)pairs.Count);
        span = span[4..];
        foreach (var (k, v) in pairs)
        {
            span = WriteLp(span, k);
            span = WriteLp(span, v);
        }
        return result;
    }

    /// <summary>The context as a JSON object with keys in the same order (for the audit trail).</summary>
    public static string Json(IReadOnlyDictionary<string, string>? context) => Json(context, null);

    /// <summary>
    /// The context and <paramref name="recorded"/> members as one JSON object, sorted as <see cref="Json(IReadOnlyDictionary{string, string}?)"/>:
    /// the audit record of a face that records request details (its name in <c>coffre:face</c>, a caller's reason) which
    /// are not bound to the ciphertext. A member in both is refused: the record must not hide what the ciphertext is bound to.
    /// </summary>
    public static string Json(IReadOnlyDictionary<string, string>? context, IReadOnlyDictionary<string, string>? recorded)
    {
        context ??= Empty;
        if (recorded is { Count: > 0 })
        {
            var merged = new Dictionary<string, string>(context, StringComparer.Ordinal);
            foreach (var (k, v) in recorded)
                if (!merged.TryAdd(k, v))
                    throw new KmsException(KmsError.InvalidArgument, $"The recorded member '{k}' is also a member of the encryption context.");
            context = merged;
        }
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (k, v) in Sorted(context))
                json.WriteString(k, v);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    internal static void Check(IReadOnlyDictionary<string, string>? context)
    {
        if (context is null) return;
        foreach (var (k, v) in context)
            if (k is null || v is null)
                throw new KmsException(KmsError.InvalidArgument, "Context keys and values must not be null.");
    }

    private static List<KeyValuePair<string, string>> Sorted(IReadOnlyDictionary<string, string> context)
    {
        // Ordinal over the UTF-8 bytes of the key = Unicode code point order (what a script gets
        // from sorted(k.encode())); string.CompareOrdinal would sort by UTF-16 code units instead.
        var pairs = context.ToList();
        pairs.Sort((a, b) => Encoding.UTF8.GetBytes(a.Key).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b.Key)));
        return pairs;
    }

    private static Span<byte> WriteLp(Span<byte> span, string value)
    {
        var n = Encoding.UTF8.GetBytes(value, span[4..]);
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)n);
        return span[(4 + n)..];
    }
}
