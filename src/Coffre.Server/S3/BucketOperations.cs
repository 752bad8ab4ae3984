using System.Globalization;
using System.Xml;
using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Objects.Versions;

namespace Coffre.Server.S3;

/// <summary>ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation, listings and DeleteObjects.</summary>
public static class BucketOperations
{
    private const int MaxKeysLimit = 1000;
    private const int MaxBucketsLimit = 10_000; // ListBuckets' max-buckets range is 1..10,000
    private const int MaxDeleteKeys = 1000; // S3's limit per DeleteObjects request
    // Delete, Quiet, and per Object: Key, VersionId, ETag, LastModifiedTime, Size.
    private const int MaxDeleteElements = 2 + MaxDeleteKeys * 6;

    public static async Task ListBucketsAsync(S3Call call, string owner)
    {
        // max-buckets, prefix and continuation-token (an opaque token: the last name listed); a page holds at most S3's 10,000.
        var prefix = call.Query("prefix");
        var continuation = call.Query("continuation-token");
        var pageSize = MaxBucketsLimit;
        if (call.Query("max-buckets") is { } mb
            && (!int.TryParse(mb, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize is < 1 or > MaxBucketsLimit))
            throw new S3Exception(S3Error.InvalidArgument, $"max-buckets must be an integer between 1 and {MaxBucketsLimit}.");
        var after = continuation is null ? null : DecodeToken(continuation);
        var visible = (await call.Store.ListBucketsAsync(call.Aborted).ConfigureAwait(false))
            .Where(b => call.Access.MaySeeBucket(b.Name) && (prefix is null || b.Name.StartsWith(prefix, StringComparison.Ordinal))
                && (after is null || string.CompareOrdinal(b.Name, after) > 0))
            .OrderBy(b => b.Name, StringComparer.Ordinal).ToList();
        var buckets = visible.Take(pageSize).ToList();
        var next = visible.Count > pageSize ? EncodeToken(buckets[^1].Name) : null;
        await WriteXml(call, "ListAllMyBucketsResult", w =>
        {
            WriteOwner(w, owner);
            w.WriteStartElement("Buckets");
            foreach (var b in buckets)
            {
                w.WriteStartElement("Bucket");
                w.WriteElementString("Name", b.Name);
                w.WriteElementString("CreationDate", S3Xml.Timestamp(b.Created));
                w.WriteEndElement();
            }
            w.WriteEndElement();
            if (next is not null) w.WriteElementString("ContinuationToken", next);
            if (prefix is not null) w.WriteElementString("Prefix", prefix);
        }).ConfigureAwait(false);
    }

    public static async Task CreateAsync(S3Call call, string region)
    {
        var bucket = call.RequireBucket();
        call.Placement?.CopiesOf(bucket); // a bucket whose policy no configured backends satisfy is not created
        var objectLock = string.Equals(call.Header("x-amz-bucket-object-lock-enabled"), "true", StringComparison.OrdinalIgnoreCase);
        var ownership = call.Header("x-amz-object-ownership");
        if (ownership is not null && !Objects.Access.ObjectOwnership.Values.Contains(ownership))
            throw new S3Exception(S3Error.InvalidArgument, $"x-amz-object-ownership must be one of {string.Join(", ", Objects.Access.ObjectOwnership.Values)}.");
        var acl = Access.AclXml.FromHeaders(call, call.Authorizer.AccountId);
        // Judged before the bucket exists: a new bucket has no public access block of its own, so all four flags apply
        // (BlockPublicAcls refuses a public ACL), and BucketOwnerEnforced allows the owner's full control alone.
        if (acl is not null && ownership == Objects.Access.ObjectOwnership.BucketOwnerEnforced && acl.Grants.Any(g => g.Grantee.Id != acl.OwnerId))
            throw new S3Exception(S3Error.InvalidBucketAclWithObjectOwnership);
        if (acl?.IsPublic == true)
            throw new S3Exception(S3Error.AccessDenied, "Access Denied: a new bucket blocks public ACLs (BlockPublicAcls); create it, lift its public access block, then set the ACL.");
        try
        {
            await call.Store.CreateBucketAsync(bucket, call.Principal, ct: call.Aborted, objectLock: objectLock).ConfigureAwait(false);
            if (ownership is not null) await call.Store.SetObjectOwnershipAsync(bucket, ownership, call.Aborted).ConfigureAwait(false);
            if (acl is not null) await call.Store.SetBucketAclAsync(bucket, acl, call.Aborted).ConfigureAwait(false);
        }
        catch (ObjectStoreException e) when (e.Error == ObjectError.BucketAlreadyExists && region == "us-east-1")
        {
            // S3 in us-east-1 answers 200 to the owner creating its bucket again (elsewhere 409 BucketAlreadyOwnedByYou);
            // every bucket here is the deployment's own.
        }
        call.Response.Headers.Location = "/" + bucket;
        call.Response.StatusCode = 200;
    }

    public static async Task HeadAsync(S3Call call, string region)
    {
        await call.Store.RequireBucketAsync(call.RequireBucket(), call.Aborted).ConfigureAwait(false);
        call.Response.Headers["x-amz-bucket-region"] = region;
        call.Response.StatusCode = 200;
    }

    public static async Task DeleteAsync(S3Call call)
    {
        await call.Store.DeleteBucketAsync(call.RequireBucket(), call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 204;
    }

    public static async Task LocationAsync(S3Call call, string region)
    {
        await call.Store.RequireBucketAsync(call.RequireBucket(), call.Aborted).ConfigureAwait(false);
        await WriteXml(call, "LocationConstraint", w => w.WriteString(region == "us-east-1" ? "" : region)).ConfigureAwait(false);
    }

    public static async Task ListObjectsAsync(S3Call call, string owner)
    {
        var bucket = call.RequireBucket();
        var v2 = call.Query("list-type") == "2";
        var (prefix, delimiter, url, maxKeys, E) = ReadListingQuery(call);

        string? continuation = null, startAfter, marker = null;
        if (v2)
        {
            continuation = call.Query("continuation-token");
            startAfter = call.Query("start-after");
            if (continuation is not null) startAfter = DecodeToken(continuation);
        }
        else
        {
            marker = call.Query("marker");
            startAfter = marker;
        }

        var page = await call.Store.ListAsync(bucket, prefix, delimiter, startAfter, maxKeys, call.Aborted).ConfigureAwait(false);
        var fetchOwner = !v2 || call.Query("fetch-owner") == "true";

        await WriteXml(call, "ListBucketResult", w =>
        {
            w.WriteElementString("Name", bucket);
            w.WriteElementString("Prefix", E(prefix));
            if (v2)
            {
                if (call.Query("start-after") is { } sa) w.WriteElementString("StartAfter", E(sa));
                if (continuation is not null) w.WriteElementString("ContinuationToken", continuation);
                if (page.IsTruncated && page.NextMarker is not null) w.WriteElementString("NextContinuationToken", EncodeToken(page.NextMarker));
                w.WriteElementString("KeyCount", page.Entries.Count.ToString(CultureInfo.InvariantCulture));
            }
            else
            {
                w.WriteElementString("Marker", E(marker ?? ""));
                if (page.IsTruncated && page.NextMarker is not null) w.WriteElementString("NextMarker", E(page.NextMarker));
            }
            w.WriteElementString("MaxKeys", maxKeys.ToString(CultureInfo.InvariantCulture));
            if (delimiter is not null) w.WriteElementString("Delimiter", E(delimiter));
            if (url) w.WriteElementString("EncodingType", "url");
            w.WriteElementString("IsTruncated", page.IsTruncated ? "true" : "false");
            foreach (var entry in page.Entries)
            {
                if (entry.Record is { } r)
                {
                    w.WriteStartElement("Contents");
                    w.WriteElementString("Key", E(r.Name));
                    w.WriteElementString("LastModified", S3Xml.Timestamp(r.Modified));
                    WriteObjectFacts(w, r);
                    if (fetchOwner) WriteOwner(w, owner);
                    w.WriteEndElement();
                }
                else
                {
                    WriteCommonPrefix(w, E(entry.Prefix!));
                }
            }
        }).ConfigureAwait(false);
    }

    /// <summary>The query parameters every listing reads alike: prefix, delimiter, encoding-type (and how it encodes a key), max-keys.</summary>
    internal sealed record ListingQuery(string Prefix, string? Delimiter, bool Url, int MaxKeys, Func<string, string> Encode);

    internal static ListingQuery ReadListingQuery(S3Call call)
    {
        var prefix = call.Query("prefix") ?? "";
        var delimiter = call.Query("delimiter");
        if (delimiter == "") delimiter = null;
        var encodingType = call.Query("encoding-type");
        if (encodingType is not null && encodingType != "url")
            throw new S3Exception(S3Error.InvalidArgument, "Invalid Encoding Method specified in Request");
        var url = encodingType == "url";
        var maxKeys = MaxKeysLimit;
        if (call.Query("max-keys") is { } mk && (!int.TryParse(mk, NumberStyles.None, CultureInfo.InvariantCulture, out maxKeys)))
            throw new S3Exception(S3Error.InvalidArgument, "Provided max-keys not an integer or within integer range");
        return new ListingQuery(prefix, delimiter, url, Math.Min(maxKeys, MaxKeysLimit),
            s => url ? Uri.EscapeDataString(s).Replace("%2F", "/") : s);
    }

    public static async Task DeleteObjectsAsync(S3Call call)
    {
        var bucket = call.RequireBucket();
        await call.Store.RequireBucketAsync(bucket, call.Aborted).ConfigureAwait(false);
        var (algorithm, verify) = S3Integrity.FromRequest(call);
        using var digests = new Objects.Integrity.PlaintextDigests(algorithm);
        await using var digesting = new Objects.Streams.ObservedReadStream(call.Body, digests.Append, leaveOpen: true);
        var xml = await S3Xml.ReadAsync(digesting, 2 * 1024 * 1024, MaxDeleteElements, call.Aborted).ConfigureAwait(false);
        if (verify(digests) is { } failure) throw S3ErrorMap.From(failure);
        if (xml.Name.LocalName != "Delete") throw new S3Exception(S3Error.MalformedXml);
        var quiet = string.Equals(xml.ChildValue("Quiet"), "true", StringComparison.OrdinalIgnoreCase);
        var keys = xml.Children("Object").Select(o => (Key: o.ChildValue("Key"), VersionId: o.ChildValue("VersionId"))).ToList();
        if (keys.Count is 0 or > MaxDeleteKeys || keys.Any(k => string.IsNullOrEmpty(k.Key))) throw new S3Exception(S3Error.MalformedXml);

        var bypass = ObjectLockOperations.BypassGovernance(call, bucket);
        var results = new List<(string Key, string? VersionId, DeleteOutcome? Outcome, S3Error? Error, string? Message)>();
        foreach (var (key, versionId) in keys)
        {
            try
            {
                await call.Authorizer.AuthorizeObjectAsync(call, "DeleteObjects", key!, versioned: versionId is not null).ConfigureAwait(false);
                var outcome = await call.Store.DeleteObjectAsync(bucket, key!, versionId, call.Aborted, bypass).ConfigureAwait(false);
                results.Add((key!, versionId, outcome, null, null));
            }
            catch (ObjectStoreException e)
            {
                results.Add((key!, versionId, null, S3ErrorMap.From(e.Error), e.Message));
            }
            catch (S3Exception e)
            {
                results.Add((key!, versionId, null, e.Error, e.Message));
            }
        }
        await WriteXml(call, "DeleteResult", w =>
        {
            foreach (var (key, versionId, outcome, error, message) in results)
            {
                if (error is null)
                {
                    if (quiet) continue;
                    w.WriteStartElement("Deleted");
                    w.WriteElementString("Key", key);
                    w.Element("VersionId", versionId);
                    if (outcome!.DeleteMarker)
                    {
                        // The marker removed (a version id named) or made (none named).
                        w.WriteElementString("DeleteMarker", "true");
                        w.WriteElementString("DeleteMarkerVersionId", outcome.VersionId);
                    }
                    w.WriteEndElement();
                }
                else
                {
                    w.WriteStartElement("Error");
                    w.WriteElementString("Key", key);
                    w.Element("VersionId", versionId);
                    w.WriteElementString("Code", error.Code);
                    w.WriteElementString("Message", message ?? error.Message);
                    w.WriteEndElement();
                }
            }
        }).ConfigureAwait(false);
    }

    /// <summary>A listed object's ETag, Size and StorageClass (ListObjects, ListObjectVersions).</summary>
    internal static void WriteObjectFacts(XmlWriter w, ObjectRecord r)
    {
        w.WriteElementString("ETag", S3Headers.Quote(r.ETag));
        w.WriteElementString("Size", r.Size.ToString(CultureInfo.InvariantCulture));
        w.WriteElementString("StorageClass", r.StorageClass);
    }

    internal static void WriteCommonPrefix(XmlWriter w, string prefix)
    {
        w.WriteStartElement("CommonPrefixes");
        w.WriteElementString("Prefix", prefix);
        w.WriteEndElement();
    }

    internal static void WriteOwner(XmlWriter w, string owner)
    {
        w.WriteStartElement("Owner");
        w.WriteElementString("ID", owner);
        w.WriteElementString("DisplayName", owner);
        w.WriteEndElement();
    }

    internal static async Task WriteXml(S3Call call, string root, Action<XmlWriter> body)
    {
        call.Response.StatusCode = 200;
        call.Response.ContentType = "application/xml";
        await S3Xml.WriteAsync(call.Response.Body, root, body).ConfigureAwait(false);
    }

    private static string EncodeToken(string key) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(key));

    private static string DecodeToken(string token)
    {
        try
        {
            return System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(token));
        }
        catch (FormatException)
        {
            throw new S3Exception(S3Error.InvalidArgument, "The continuation token provided is incorrect");
        }
    }
}
