using System.Globalization;
using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Objects.Versions;

namespace Coffre.Server.S3;

/// <summary>
/// S3 versioning: GetBucketVersioning, PutBucketVersioning, ListObjectVersions, and how the object operations name a
/// version (the versionId parameter, x-amz-version-id, delete markers).
/// </summary>
public static class VersioningOperations
{
    public const string VersionIdHeader = "x-amz-version-id";
    public const string DeleteMarkerHeader = "x-amz-delete-marker";

    public static async Task GetVersioningAsync(S3Call call)
    {
        var bucket = await call.Store.RequireBucketAsync(call.RequireBucket(), call.Aborted).ConfigureAwait(false);
        // A bucket never versioned answers an empty configuration, as S3 does.
        await BucketOperations.WriteXml(call, "VersioningConfiguration", w =>
        {
            if (bucket.Versioning != BucketVersioning.Unversioned) w.WriteElementString("Status", bucket.Versioning.ToString());
        }).ConfigureAwait(false);
    }

    public static async Task PutVersioningAsync(S3Call call)
    {
        var bucket = call.RequireBucket();
        var xml = await S3Integrity.ReadVerifiedXmlAsync(call, 64 * 1024, 8).ConfigureAwait(false);
        if (xml.Name.LocalName != "VersioningConfiguration") throw new S3Exception(S3Error.MalformedXml);
        // MFA delete needs a hardware token's code with every versioned delete; Coffre has no such device to check it.
        if (xml.ChildValue("MfaDelete") is { } mfa && mfa != "Disabled")
            throw mfa == "Enabled"
                ? new S3Exception(S3Error.NotImplemented, "Coffre does not support MFA delete; send the configuration without MfaDelete, or with MfaDelete Disabled.")
                : new S3Exception(S3Error.MalformedXml);
        if (call.Header("x-amz-mfa") is not null)
            throw new S3Exception(S3Error.NotImplemented, "Coffre does not support MFA delete; send the request without x-amz-mfa.");
        var state = xml.ChildValue("Status") switch
        {
            "Enabled" => BucketVersioning.Enabled,
            "Suspended" => BucketVersioning.Suspended,
            null => (BucketVersioning?)null,
            _ => throw new S3Exception(S3Error.MalformedXml, "The versioning Status must be Enabled or Suspended."),
        };
        if (state is { } s) await call.Store.SetVersioningAsync(bucket, s, call.Aborted).ConfigureAwait(false);
        else await call.Store.RequireBucketAsync(bucket, call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 200;
    }

    public static async Task ListVersionsAsync(S3Call call, string owner)
    {
        var bucket = call.RequireBucket();
        var q = BucketOperations.ReadListingQuery(call);
        var keyMarker = call.Query("key-marker");
        if (keyMarker == "") keyMarker = null;
        var versionIdMarker = call.Query("version-id-marker");
        if (versionIdMarker == "") versionIdMarker = null;
        var page = await call.Store.ListVersionsAsync(bucket, q.Prefix, q.Delimiter, keyMarker, versionIdMarker, q.MaxKeys, call.Aborted).ConfigureAwait(false);
        var E = q.Encode;
        await BucketOperations.WriteXml(call, "ListVersionsResult", w =>
        {
            w.WriteElementString("Name", bucket);
            w.WriteElementString("Prefix", E(q.Prefix));
            w.WriteElementString("KeyMarker", E(keyMarker ?? ""));
            w.WriteElementString("VersionIdMarker", versionIdMarker ?? "");
            if (page.IsTruncated)
            {
                w.Element("NextKeyMarker", page.NextKeyMarker is { } k ? E(k) : null);
                w.Element("NextVersionIdMarker", page.NextVersionIdMarker);
            }
            w.WriteElementString("MaxKeys", q.MaxKeys.ToString(CultureInfo.InvariantCulture));
            if (q.Delimiter is not null) w.WriteElementString("Delimiter", E(q.Delimiter));
            if (q.Url) w.WriteElementString("EncodingType", "url");
            w.WriteElementString("IsTruncated", page.IsTruncated ? "true" : "false");
            foreach (var entry in page.Entries)
            {
                if (entry.Version is { } v)
                {
                    w.WriteStartElement(v.IsDeleteMarker ? "DeleteMarker" : "Version");
                    w.WriteElementString("Key", E(v.Name));
                    w.WriteElementString("VersionId", v.VersionId);
                    w.WriteElementString("IsLatest", v.IsLatest ? "true" : "false");
                    w.WriteElementString("LastModified", S3Xml.Timestamp(v.Modified));
                    if (v.Record is { } r) BucketOperations.WriteObjectFacts(w, r);
                    BucketOperations.WriteOwner(w, owner);
                    w.WriteEndElement();
                }
                else
                {
                    BucketOperations.WriteCommonPrefix(w, E(entry.Prefix!));
                }
            }
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// The object version a GET, HEAD or tagging request reads: the latest, or the one its versionId names. A delete
    /// marker is answered as S3 does: 404 NoSuchKey when it is the latest version, 405 MethodNotAllowed when named,
    /// both with x-amz-delete-marker. Sets x-amz-version-id when the bucket has (or had) versioning.
    /// </summary>
    public static async Task<ObjectRecord> ReadVersionAsync(S3Call call)
    {
        var versionId = call.Query("versionId");
        var (bucket, entry) = await call.Store.GetVersionAsync(call.RequireBucket(), call.RequireKey(), versionId, call.Aborted).ConfigureAwait(false);
        if (entry.Record is not { } record)
        {
            var headers = new Dictionary<string, string> { [DeleteMarkerHeader] = "true", [VersionIdHeader] = entry.VersionId };
            if (versionId is null)
                throw new S3Exception(S3Error.NoSuchKey) { Headers = headers };
            headers["Last-Modified"] = entry.Modified.ToString("R", CultureInfo.InvariantCulture);
            headers["Allow"] = "DELETE";
            throw new S3Exception(S3Error.MethodNotAllowed, "The specified method is not allowed against this resource: the version is a delete marker.") { Headers = headers };
        }
        if (versionId is not null || bucket.Versioning != BucketVersioning.Unversioned)
            call.Response.Headers[VersionIdHeader] = record.VersionId;
        return record;
    }

    /// <summary>x-amz-version-id of a write: the version it made, unless the bucket was never versioned.</summary>
    /// <summary>
    /// A write's x-amz-version-id: its version id, and "null" for the null version written in a suspended bucket (AWS
    /// answers it there, and no version id in a bucket that never had versioning).
    /// </summary>
    public static async Task WriteVersionIdAsync(S3Call call, ObjectRecord record)
    {
        if (record.VersionId != VersionIds.Null)
            call.Response.Headers[VersionIdHeader] = record.VersionId;
        else if ((await call.Store.RequireBucketAsync(record.Bucket, call.Aborted).ConfigureAwait(false)).Versioning == BucketVersioning.Suspended)
            call.Response.Headers[VersionIdHeader] = VersionIds.Null;
    }

    /// <summary>What a DeleteObject answers: the version removed or the delete marker made, and whether it is a marker.</summary>
    public static void WriteDeleteOutcome(S3Call call, DeleteOutcome outcome)
    {
        if (outcome.VersionId is { } id) call.Response.Headers[VersionIdHeader] = id;
        if (outcome.DeleteMarker) call.Response.Headers[DeleteMarkerHeader] = "true";
    }
}
