using System.Globalization;
using Coffre.Crypto;
using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Objects.Encryption;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Coffre.Server.S3;

/// <summary>PutObject, GetObject, HeadObject, DeleteObject, CopyObject.</summary>
public static class ObjectOperations
{
    private const int CopyBufferSize = 256 * 1024;

    public static async Task PutAsync(S3Call call)
    {
        if (call.Header("x-amz-copy-source") is { } source)
        {
            await CopyAsync(call, source).ConfigureAwait(false);
            return;
        }
        var bucket = call.RequireBucket();
        var key = call.RequireKey();
        var (algorithm, verify) = S3Integrity.FromRequest(call);
        ObjectEncryption? applied = null;
        var encryption = call.Sse.ReadWrite(call, facts => applied = facts);
        using var customerKey = encryption.CustomerKey;
        var metadata = S3Headers.ReadMetadata(call.Request) with { Tags = TaggingOperations.ReadHeader(call) };
        var storageClass = StorageClassHeaders.Read(call);
        var acl = await Access.AclOperations.ReadWriteHeadersAsync(call, bucket).ConfigureAwait(false);
        var record = await call.Store.PutObjectAsync(new PutObjectCommand(bucket, key, call.Body, call.BodyLength,
            metadata, call.Principal, algorithm, verify, S3Headers.ReadWriteCondition(call.Request), encryption, storageClass,
            ObjectLockOperations.ReadWriteLock(call, needsIntegrity: true)), call.Aborted).ConfigureAwait(false);
        await Access.AclOperations.ApplyAsync(call, record, acl).ConfigureAwait(false);
        call.Response.Headers.ETag = S3Headers.Quote(record.ETag);
        await VersioningOperations.WriteVersionIdAsync(call, record).ConfigureAwait(false);
        call.Sse.WriteHeaders(call, record.Key.KeyId, applied, withContext: true);
        if (algorithm is { } a && record.Parts[0].Checksum is { } c) call.Response.Headers[Objects.Integrity.ChecksumAlgorithms.HeaderName(a)] = c;
        call.Response.StatusCode = 200;
    }

    public static async Task GetAsync(S3Call call, bool headOnly)
    {
        var record = await VersioningOperations.ReadVersionAsync(call).ConfigureAwait(false);
        if (S3Headers.EvaluateConditions(call.Request, record, isGetOrHead: true) is { } failed)
        {
            if (failed == S3Error.NotModified)
            {
                call.Response.StatusCode = 304;
                call.Response.Headers.ETag = S3Headers.Quote(record.ETag);
                return;
            }
            throw new S3Exception(failed);
        }

        (long Start, long End)? range = null;
        if (call.Query("partNumber") is { } partText)
        {
            if (call.Header("Range") is not null)
                throw new S3Exception(S3Error.InvalidRequest, "Cannot specify both Range header and partNumber query parameter");
            range = PartRange(record, partText);
        }
        else
            range = S3Headers.ParseRange(call.Header("Range"), record.Size);

        await call.Sse.AuthorizeReadAsync(call, record).ConfigureAwait(false);
        using var customerKey = call.Sse.ReadCustomerKey(call);
        using var reader = await call.Store.OpenAsync(record, call.Principal, range?.Start, range?.End, customerKey).ConfigureAwait(false);
        var withChecksum = string.Equals(call.Header("x-amz-checksum-mode"), "ENABLED", StringComparison.OrdinalIgnoreCase) && range is null;
        S3Headers.WriteObjectHeaders(call.Response, record, reader.Metadata, withChecksum);
        await ObjectLockOperations.WriteLockHeadersAsync(call, record).ConfigureAwait(false);
        call.Sse.WriteHeaders(call, record.Key.KeyId, reader.Metadata.Encryption);
        StorageClassHeaders.Write(call, record.StorageClass);
        TaggingOperations.WriteCount(call, reader.Metadata.Tags);
        foreach (var (query, header) in ResponseOverrides)
            if (call.Query(query) is { } value) call.Response.Headers[header] = value;
        // S3 sends the part count only to a request that named a part, and only for a multipart object.
        if (call.Query("partNumber") is not null && record.Parts is not [{ Number: 0 }])
            call.Response.Headers["x-amz-mp-parts-count"] = record.Parts.Count.ToString(CultureInfo.InvariantCulture);
        call.Response.ContentLength = reader.Length;
        if (range is { } r)
        {
            call.Response.StatusCode = 206;
            call.Response.Headers.ContentRange = $"bytes {r.Start}-{r.End - 1}/{record.Size}";
        }
        else
        {
            call.Response.StatusCode = 200;
        }
        if (headOnly || reader.Length == 0) return;

        // Errors up to here are answered as S3 XML. Once the body has started, a failure can only
        // be signalled by breaking the connection: the client must see an error, never a clean short body.
        await reader.PrepareAsync(call.Aborted).ConfigureAwait(false);
        try
        {
            await reader.Body.CopyToAsync(call.Response.Body, CopyBufferSize, call.Aborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationFailedException or IOException or ObjectStoreException)
        {
            // Nothing sent yet (the first segment failed): still time for a clean S3 error.
            if (!call.Response.HasStarted && e is not IOException) throw;
            call.Http.Abort();
            throw new ResponseAbortedException(e);
        }
    }

    /// <summary>GetObject's response-* query parameters: header values the (signed) request asks to be answered with.</summary>
    private static readonly (string Query, string Header)[] ResponseOverrides =
    [
        ("response-content-type", "Content-Type"), ("response-content-language", "Content-Language"),
        ("response-expires", "Expires"), ("response-cache-control", "Cache-Control"),
        ("response-content-disposition", "Content-Disposition"), ("response-content-encoding", "Content-Encoding"),
    ];

    private static (long, long) PartRange(ObjectRecord record, string partText)
    {
        if (!int.TryParse(partText, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
            throw new S3Exception(S3Error.InvalidArgument, "Part number must be an integer between 1 and 10000, inclusive.");
        long start = 0;
        var parts = record.Parts;
        if (parts.Count == 1 && parts[0].Number == 0)
            return n == 1 ? (0, record.Size) : throw new S3Exception(S3Error.InvalidPartNumber);
        foreach (var p in parts)
        {
            if (p.Number == n) return (start, start + p.Size);
            start += p.Size;
        }
        throw new S3Exception(S3Error.InvalidPartNumber);
    }

    public static async Task DeleteAsync(S3Call call)
    {
        var bucket = call.RequireBucket();
        var outcome = await call.Store.DeleteObjectAsync(bucket, call.RequireKey(), call.Query("versionId"), call.Aborted,
            ObjectLockOperations.BypassGovernance(call, bucket)).ConfigureAwait(false);
        VersioningOperations.WriteDeleteOutcome(call, outcome);
        call.Response.StatusCode = 204;
    }

    private static async Task CopyAsync(S3Call call, string sourceHeader)
    {
        var source = await ReadCopySourceAsync(call, sourceHeader).ConfigureAwait(false);
        var (srcBucket, srcKey) = (source.Bucket, source.Name);
        await call.Sse.AuthorizeReadAsync(call, source).ConfigureAwait(false);
        using var sourceKey = call.Sse.ReadCustomerKey(call, copySource: true);
        ObjectEncryption? applied = null;
        var encryption = call.Sse.ReadWrite(call, facts => applied = facts);
        using var customerKey = encryption.CustomerKey;
        var directive = call.Header("x-amz-metadata-directive")?.ToUpperInvariant() ?? "COPY";
        if (directive is not ("COPY" or "REPLACE"))
            throw new S3Exception(S3Error.InvalidArgument, "Unknown metadata directive.");
        var bucket = call.RequireBucket();
        var key = call.RequireKey();
        var tags = TaggingOperations.ReadCopyDirective(call);
        var storageClass = StorageClassHeaders.Read(call);
        // Copying an older version onto its own key is how S3 restores it: allowed, as in S3; so is changing its
        // encryption or its storage class.
        if (directive == "COPY" && srcBucket == bucket && srcKey == key && ParseCopySource(sourceHeader).VersionId is null
            && encryption is { Algorithm: null, CustomerKey: null } && call.Header(StorageClassHeaders.Header) is null)
            throw new S3Exception(S3Error.InvalidRequest, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.");
        // The copy gets the ACL its request names, never its source's (as S3).
        var acl = await Access.AclOperations.ReadWriteHeadersAsync(call, bucket).ConfigureAwait(false);
        var record = await call.Store.CopyObjectAsync(source, bucket, key,
            directive == "REPLACE" ? S3Headers.ReadMetadata(call.Request) : null, call.Principal, call.Aborted,
            S3Headers.ReadWriteCondition(call.Request), sourceKey, encryption, tags, storageClass,
            ObjectLockOperations.ReadWriteLock(call, needsIntegrity: false)).ConfigureAwait(false);
        await Access.AclOperations.ApplyAsync(call, record, acl).ConfigureAwait(false);
        await VersioningOperations.WriteVersionIdAsync(call, record).ConfigureAwait(false);
        call.Sse.WriteHeaders(call, record.Key.KeyId, applied, withContext: true);
        call.Response.StatusCode = 200;
        call.Response.ContentType = "application/xml";
        await S3Xml.WriteAsync(call.Response.Body, "CopyObjectResult", w =>
        {
            w.WriteElementString("LastModified", S3Xml.Timestamp(record.Modified));
            w.WriteElementString("ETag", S3Headers.Quote(record.ETag));
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// x-amz-copy-source-if-*: as RFC 7232 with S3's precedence (a matching if-match wins over a failing
    /// if-unmodified-since; a failing if-none-match or if-modified-since is 412, a copy has no 304).
    /// </summary>
    public static void CheckCopySourceConditions(S3Call call, ObjectRecord source)
    {
        string? H(string n) => call.Header(n);
        static DateTimeOffset? Date(string? v) =>
            v is not null && DateTimeOffset.TryParse(v, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var d) ? d : null;
        static bool Matches(string header, string etag) =>
            header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Any(t => t == "*" || t.Trim('"') == etag);
        var modified = new DateTimeOffset(source.Modified.Ticks - source.Modified.Ticks % TimeSpan.TicksPerSecond, source.Modified.Offset);
        if (H("x-amz-copy-source-if-match") is { } m)
        {
            if (!Matches(m, source.ETag)) throw new S3Exception(S3Error.PreconditionFailed);
        }
        else if (Date(H("x-amz-copy-source-if-unmodified-since")) is { } u && modified > u)
        {
            throw new S3Exception(S3Error.PreconditionFailed);
        }
        if (H("x-amz-copy-source-if-none-match") is { } nm)
        {
            if (Matches(nm, source.ETag)) throw new S3Exception(S3Error.PreconditionFailed);
        }
        else if (Date(H("x-amz-copy-source-if-modified-since")) is { } since && modified <= since)
        {
            throw new S3Exception(S3Error.PreconditionFailed);
        }
    }

    /// <summary>
    /// The object version a copy (CopyObject, UploadPartCopy) reads, after its read grant and x-amz-copy-source-if-*
    /// conditions; answers x-amz-copy-source-version-id when the source is a version other than null or was named.
    /// A delete marker cannot be copied: NoSuchKey when it is the latest version, InvalidRequest when named.
    /// </summary>
    public static async Task<ObjectRecord> ReadCopySourceAsync(S3Call call, string header)
    {
        var (srcBucket, srcKey, versionId) = ParseCopySource(header);
        if (!call.Access.MayReadBucket(srcBucket)) throw new S3Exception(S3Error.AccessDenied);
        var (_, entry) = await call.Store.GetVersionAsync(srcBucket, srcKey, versionId, call.Aborted).ConfigureAwait(false);
        if (entry.Record is not { } source)
            throw versionId is null
                ? new S3Exception(S3Error.NoSuchKey)
                : new S3Exception(S3Error.InvalidRequest, "The source of a copy request may not specifically refer to a delete marker by version id.");
        CheckCopySourceConditions(call, source);
        if (versionId is not null || source.VersionId != Objects.Versions.VersionIds.Null)
            call.Response.Headers["x-amz-copy-source-version-id"] = source.VersionId;
        return source;
    }

    /// <summary>"/bucket/key" or "bucket/key", URL-encoded, optionally "?versionId=...".</summary>
    public static (string Bucket, string Key, string? VersionId) ParseCopySource(string header)
    {
        var value = header.Trim();
        string? versionId = null;
        var q = value.IndexOf('?');
        if (q >= 0)
        {
            foreach (var pair in value[(q + 1)..].Split('&'))
                if (pair.StartsWith("versionId=", StringComparison.Ordinal))
                    versionId = S3Uri.Decode(pair["versionId=".Length..], plusIsSpace: true);
            value = value[..q];
        }
        value = S3Uri.Decode(value, plusIsSpace: false).TrimStart('/');
        var slash = value.IndexOf('/');
        if (slash <= 0 || slash == value.Length - 1)
            throw new S3Exception(S3Error.InvalidArgument, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey.");
        return (value[..slash], value[(slash + 1)..], versionId);
    }
}

/// <summary>The response had started when the failure happened; the connection was aborted, nothing more can be written.</summary>
public sealed class ResponseAbortedException(Exception inner) : Exception("The response was aborted after its headers were sent: " + inner.Message, inner);
