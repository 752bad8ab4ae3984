using System.Text.Json;

namespace Coffre.Server.Kms;

public sealed partial class KmsOperations
{
    private async ValueTask TagResource(KmsCall c, Utf8JsonWriter w)
    {
        var keyRef = await AuthorizedKeyAsync(c, c.Request.KeyId);
        var tags = c.Request.Tags ?? throw Missing("Tags");
        if (tags.Any(t => t.Key.StartsWith("aws:", StringComparison.Ordinal)))
            throw new KmsFaceException(KmsErrors.TagException, "Tag keys beginning with 'aws:' are reserved.");
        await _keys.TagKeyAsync(keyRef, tags.ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal), c.Principal);
    }

    private async ValueTask UntagResource(KmsCall c, Utf8JsonWriter w)
    {
        var keyRef = await AuthorizedKeyAsync(c, c.Request.KeyId);
        await _keys.UntagKeyAsync(keyRef, c.Request.TagKeys ?? throw Missing("TagKeys"), c.Principal);
    }

    private async ValueTask ListResourceTags(KmsCall c, Utf8JsonWriter w)
    {
        var info = await _keys.DescribeKeyAsync(await AuthorizedKeyAsync(c, c.Request.KeyId), c.Principal);
        var tags = info.Tags.OrderBy(t => t.Key, StringComparer.Ordinal).ToList();
        var (start, count) = Page(c.Request, tags.Count);
        w.WriteStartArray("Tags");
        foreach (var (k, v) in tags.Skip(start).Take(count))
        {
            w.WriteStartObject();
            w.WriteString("TagKey", k);
            w.WriteString("TagValue", v);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        WritePageEnd(w, start, count, tags.Count);
    }
}
