using System.Globalization;
using Coffre.Objects.Catalog;
using Coffre.Objects.Integrity;

namespace Coffre.Server.S3;

/// <summary>
/// GetObjectAttributes: what HeadObject and ListParts would tell of one object version, in one answer. The catalog holds
/// all of it but the whole-object checksum, which is sealed with the metadata (read only when asked for).
/// </summary>
public static class AttributesOperations
{
    private static readonly HashSet<string> Names = new(StringComparer.Ordinal) { "ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize" };
    private const int DefaultMaxParts = 1000;

    public static async Task GetAsync(S3Call call)
    {
        var wanted = (call.Header("x-amz-object-attributes") ?? "")
            .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        if (wanted.Count == 0)
            throw new S3Exception(S3Error.InvalidArgument, "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty");
        if (wanted.FirstOrDefault(n => !Names.Contains(n)) is { } unknown)
            throw new S3Exception(S3Error.InvalidArgument, $"Invalid attribute name specified: '{unknown}'.");
        var maxParts = Number(call, "x-amz-max-parts", DefaultMaxParts);
        var marker = Number(call, "x-amz-part-number-marker", 0);

        var record = await VersioningOperations.ReadVersionAsync(call).ConfigureAwait(false);
        // The whole-object checksum and the parts' algorithm are sealed: unwrapping (audited) only when they are asked for.
        var metadata = wanted.Contains("Checksum") || wanted.Contains("ObjectParts")
            ? await call.Store.ReadMetadataAsync(record, call.Principal).ConfigureAwait(false)
            : null;
        ChecksumAlgorithms.TryParse(metadata?.ChecksumAlgorithm, out var algorithm);
        var hasAlgorithm = metadata?.ChecksumAlgorithm is not null;
        call.Response.Headers.LastModified = record.Modified.ToString("R", CultureInfo.InvariantCulture);
        await BucketOperations.WriteXml(call, "GetObjectAttributesResponse", w =>
        {
            // Unquoted here, unlike every other ETag S3 answers.
            if (wanted.Contains("ETag")) w.WriteElementString("ETag", record.ETag);
            if (wanted.Contains("Checksum") && hasAlgorithm && metadata!.ChecksumValue is { } value)
            {
                w.WriteStartElement("Checksum");
                w.WriteElementString("Checksum" + algorithm.S3Name(), value);
                if (metadata.ChecksumType is { } type) w.WriteElementString("ChecksumType", type);
                w.WriteEndElement();
            }
            if (wanted.Contains("ObjectParts") && record.Parts is not [{ Number: 0 }])
                WriteParts(w, record, hasAlgorithm ? algorithm : null, marker, maxParts);
            if (wanted.Contains("StorageClass")) w.WriteElementString("StorageClass", record.StorageClass);
            if (wanted.Contains("ObjectSize")) w.WriteElementString("ObjectSize", record.Size.ToString(CultureInfo.InvariantCulture));
        }).ConfigureAwait(false);
    }

    /// <summary>A multipart object's parts after <paramref name="marker"/>. As S3 does for general-purpose buckets, the
    /// parts themselves are listed only when the object has checksums; their count always is.</summary>
    private static void WriteParts(System.Xml.XmlWriter w, ObjectRecord record, ChecksumAlgorithm? algorithm, int marker, int maxParts)
    {
        var after = record.Parts.Where(p => p.Number > marker).ToList();
        var page = after.Take(maxParts).ToList();
        w.WriteStartElement("ObjectParts");
        w.WriteElementString("PartsCount", record.Parts.Count.ToString(CultureInfo.InvariantCulture));
        w.WriteElementString("PartNumberMarker", marker.ToString(CultureInfo.InvariantCulture));
        if (page.Count > 0) w.WriteElementString("NextPartNumberMarker", page[^1].Number.ToString(CultureInfo.InvariantCulture));
        w.WriteElementString("MaxParts", maxParts.ToString(CultureInfo.InvariantCulture));
        w.WriteElementString("IsTruncated", after.Count > page.Count ? "true" : "false");
        if (algorithm is { } a && record.Parts.All(p => p.Checksum is not null))
            foreach (var part in page)
            {
                w.WriteStartElement("Part");
                w.WriteElementString("Checksum" + a.S3Name(), part.Checksum);
                w.WriteElementString("PartNumber", part.Number.ToString(CultureInfo.InvariantCulture));
                w.WriteElementString("Size", part.Size.ToString(CultureInfo.InvariantCulture));
                w.WriteEndElement();
            }
        w.WriteEndElement();
    }

    private static int Number(S3Call call, string header, int absent) =>
        call.Header(header) is not { } text ? absent
        : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
        : throw new S3Exception(S3Error.InvalidArgument, $"{header} must be a non-negative integer.");
}
