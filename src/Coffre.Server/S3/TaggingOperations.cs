using System.Globalization;
using System.Text;
using Coffre.Objects.Tagging;

namespace Coffre.Server.S3;

/// <summary>
/// Put/Get/DeleteObjectTagging, Put/Get/DeleteBucketTagging, and the x-amz-tagging header of PutObject,
/// CreateMultipartUpload and CopyObject, with S3's limits. An object's tags are sealed with its metadata
/// (ObjectStore.SetTagsAsync); they are never seen by the backend nor kept in clear.
/// </summary>
public static class TaggingOperations
{
    public const string TaggingHeader = "x-amz-tagging";
    public const string TaggingCountHeader = "x-amz-tagging-count";
    private const int MaxObjectTags = 10;
    private const int MaxBucketTags = 50;
    private const int MaxKeyLength = 128;
    private const int MaxValueLength = 256;
    private const int MaxXmlBytes = 64 * 1024;

    public static async Task GetObjectTaggingAsync(S3Call call)
    {
        var record = await VersioningOperations.ReadVersionAsync(call).ConfigureAwait(false);
        var metadata = await call.Store.ReadMetadataAsync(record, call.Principal).ConfigureAwait(false);
        await WriteTagSetAsync(call, metadata.Tags).ConfigureAwait(false);
    }

    public static async Task PutObjectTaggingAsync(S3Call call)
    {
        var tags = await ReadTagSetAsync(call, MaxObjectTags).ConfigureAwait(false);
        var record = await VersioningOperations.ReadVersionAsync(call).ConfigureAwait(false);
        await call.Store.SetTagsAsync(record, tags, call.Principal, call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 200;
    }

    public static async Task DeleteObjectTaggingAsync(S3Call call)
    {
        var record = await VersioningOperations.ReadVersionAsync(call).ConfigureAwait(false);
        await call.Store.SetTagsAsync(record, null, call.Principal, call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 204;
    }

    /// <summary>A bucket without tags answers 404 NoSuchTagSet, as S3 does.</summary>
    public static async Task GetBucketTaggingAsync(S3Call call)
    {
        var tags = await call.Store.GetBucketTagsAsync(call.RequireBucket(), call.Aborted).ConfigureAwait(false)
            ?? throw new S3Exception(S3Error.NoSuchTagSet);
        await WriteTagSetAsync(call, tags).ConfigureAwait(false);
    }

    public static async Task PutBucketTaggingAsync(S3Call call)
    {
        var tags = await ReadTagSetAsync(call, MaxBucketTags).ConfigureAwait(false);
        await call.Store.SetBucketTagsAsync(call.RequireBucket(), tags, call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 204;
    }

    public static async Task DeleteBucketTaggingAsync(S3Call call)
    {
        await call.Store.SetBucketTagsAsync(call.RequireBucket(), null, call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 204;
    }

    /// <summary>x-amz-tagging ("k1=v1&amp;k2=v2", URL-encoded) of a write; null when absent.</summary>
    public static IReadOnlyList<ObjectTag>? ReadHeader(S3Call call)
    {
        if (call.Header(TaggingHeader) is not { } header) return null;
        var tags = new List<ObjectTag>();
        foreach (var pair in header.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var key = S3Uri.Decode(eq < 0 ? pair : pair[..eq], plusIsSpace: true);
            var value = eq < 0 ? "" : S3Uri.Decode(pair[(eq + 1)..], plusIsSpace: true);
            tags.Add(new ObjectTag(key, value));
        }
        return Validate(tags, MaxObjectTags);
    }

    /// <summary>
    /// CopyObject's x-amz-tagging-directive: COPY (the default) keeps the source's tags, null here; REPLACE takes the
    /// request's x-amz-tagging, none when absent (an empty list).
    /// </summary>
    public static IReadOnlyList<ObjectTag>? ReadCopyDirective(S3Call call)
    {
        return (call.Header("x-amz-tagging-directive")?.ToUpperInvariant() ?? "COPY") switch
        {
            "COPY" => null,
            "REPLACE" => ReadHeader(call) ?? [],
            _ => throw new S3Exception(S3Error.InvalidArgument, "Unknown tagging directive: x-amz-tagging-directive must be COPY or REPLACE."),
        };
    }

    /// <summary>x-amz-tagging-count of a GET or HEAD: only for an object that has tags, as S3 answers.</summary>
    public static void WriteCount(S3Call call, IReadOnlyList<ObjectTag>? tags)
    {
        if (tags is { Count: > 0 }) call.Response.Headers[TaggingCountHeader] = tags.Count.ToString(CultureInfo.InvariantCulture);
    }

    private static async Task<IReadOnlyList<ObjectTag>> ReadTagSetAsync(S3Call call, int maxTags)
    {
        var xml = await S3Integrity.ReadVerifiedXmlAsync(call, MaxXmlBytes, 4 + MaxBucketTags * 3).ConfigureAwait(false);
        if (xml.Name.LocalName != "Tagging" || xml.Children("TagSet").ToList() is not [var set])
            throw new S3Exception(S3Error.MalformedXml);
        var tags = new List<ObjectTag>();
        foreach (var tag in set.Elements())
        {
            if (tag.Name.LocalName != "Tag" || tag.ChildValue("Key") is not { } key)
                throw new S3Exception(S3Error.MalformedXml);
            tags.Add(new ObjectTag(key, tag.ChildValue("Value") ?? throw new S3Exception(S3Error.MalformedXml)));
        }
        return Validate(tags, maxTags);
    }

    /// <summary>S3's tag rules: at most 10 per object (50 per bucket), unique keys of 1–128 characters, values of at most
    /// 256, letters, digits, white space and + - = . _ : / @ only, no key in the reserved aws: prefix.</summary>
    private static List<ObjectTag> Validate(List<ObjectTag> tags, int maxTags)
    {
        if (tags.Count > maxTags)
            throw new S3Exception(S3Error.InvalidTag, maxTags == MaxObjectTags
                ? $"Object tags cannot be greater than {MaxObjectTags}"
                : $"Bucket tag count cannot be greater than {MaxBucketTags}");
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, value) in tags)
        {
            if (!keys.Add(key)) throw new S3Exception(S3Error.InvalidTag, "Cannot provide multiple Tags with the same key");
            if (key.Length == 0 || Length(key) > MaxKeyLength || !Allowed(key))
                throw new S3Exception(S3Error.InvalidTag, "The TagKey you have provided is invalid");
            if (Length(value) > MaxValueLength || !Allowed(value))
                throw new S3Exception(S3Error.InvalidTag, "The TagValue you have provided is invalid");
            if (key.StartsWith("aws:", StringComparison.OrdinalIgnoreCase))
                throw new S3Exception(S3Error.InvalidTag, "Your TagKey cannot be prefixed with aws:");
        }
        return tags;
    }

    /// <summary>Unicode characters, as S3 counts them (a character outside the BMP is one).</summary>
    private static int Length(string s) => s.EnumerateRunes().Count();

    private static bool Allowed(string s)
    {
        foreach (var r in s.EnumerateRunes())
            if (!(Rune.IsLetterOrDigit(r) || Rune.IsWhiteSpace(r) || r.Value is '+' or '-' or '=' or '.' or '_' or ':' or '/' or '@'))
                return false;
        return true;
    }

    private static Task WriteTagSetAsync(S3Call call, IReadOnlyList<ObjectTag>? tags) =>
        BucketOperations.WriteXml(call, "Tagging", w =>
        {
            w.WriteStartElement("TagSet");
            foreach (var (key, value) in tags ?? [])
            {
                w.WriteStartElement("Tag");
                w.WriteElementString("Key", key);
                w.WriteElementString("Value", value);
                w.WriteEndElement();
            }
            w.WriteEndElement();
        });
}
