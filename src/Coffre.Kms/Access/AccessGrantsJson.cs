using System.Text;
using System.Text.Json;

namespace Coffre.Kms.Access;

/// <summary>
/// The one serialized form of <see cref="AccessGrants"/>: stored (docs/format.md §6.4), bound into the wrapped secret,
/// and written in audit records. Member order is fixed, so equal grants give equal bytes.
/// </summary>
public static class AccessGrantsJson
{
    public static string Serialize(AccessGrants g)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            Write(w, "readBuckets", g.ReadBuckets);
            Write(w, "writeBuckets", g.WriteBuckets);
            Write(w, "kmsKeys", g.KmsKeys);
            Write(w, "kmsOperations", g.KmsOperations);
            Write(w, "kmsAdminKeys", g.KmsAdminKeys);
            w.WriteBoolean("admin", g.Admin);
            Write(w, "bypassGovernanceBuckets", g.BypassGovernanceBuckets);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static AccessGrants Deserialize(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            return new AccessGrants
            {
                ReadBuckets = Read(root, "readBuckets"),
                WriteBuckets = Read(root, "writeBuckets"),
                KmsKeys = Read(root, "kmsKeys"),
                KmsOperations = Read(root, "kmsOperations"),
                KmsAdminKeys = Read(root, "kmsAdminKeys"),
                Admin = root.TryGetProperty("admin", out var a) && a.GetBoolean(),
                BypassGovernanceBuckets = Read(root, "bypassGovernanceBuckets"),
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            throw new KmsException(KmsError.InvalidArgument, $"Stored access-key grants are malformed ({e.Message}); the key store was modified.", e);
        }
    }

    private static void Write(Utf8JsonWriter w, string name, IReadOnlyList<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    private static string[] Read(JsonElement root, string name) =>
        root.TryGetProperty(name, out var array) ? [.. array.EnumerateArray().Select(e => e.GetString()!)] : [];
}
