using System.Globalization;
using Coffre.Objects;
using Coffre.Objects.Encryption;
using Coffre.Objects.Integrity;

namespace Coffre.Server.S3;

/// <summary>CreateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload, AbortMultipartUpload, ListParts, ListMultipartUploads.</summary>
public static class MultipartOperations
{
    // CompleteMultipartUpload, and per Part: PartNumber, ETag and at most the five checksum elements.
    private const int MaxCompleteElements = 1 + ObjectStore.MaxPartNumber * 8;

    public static async Task CreateAsync(S3Call call)
    {
        var bucket = call.RequireBucket();
        var key = call.RequireKey();
        // The ACL is kept in the upload's sealed metadata and given to the object at completion.
        var acl = await Access.AclOperations.ReadWriteHeadersAsync(call, bucket).ConfigureAwait(false);
        var metadata = S3Headers.ReadMetadata(call.Request) with { Tags = TaggingOperations.ReadHeader(call), Acl = acl?.ToJson() };
        var storageClass = StorageClassHeaders.Read(call);
        if (Objects.Integrity.ChecksumAlgorithms.TryParse(call.Header("x-amz-checksum-algorithm"), out var algorithm))
            metadata = metadata with { ChecksumAlgorithm = algorithm.S3Name() };
        ObjectEncryption? applied = null;
        var encryption = call.Sse.ReadWrite(call, facts => applied = facts);
        using var customerKey = encryption.CustomerKey;
        var upload = await call.Store.CreateUploadAsync(bucket, key, metadata, call.Principal, call.Aborted, encryption, storageClass,
            ObjectLockOperations.ReadWriteLock(call, needsIntegrity: false)).ConfigureAwait(false);
        if (metadata.ChecksumAlgorithm is { } a) call.Response.Headers["x-amz-checksum-algorithm"] = a;
        call.Sse.WriteHeaders(call, upload.Key.KeyId, applied, withContext: true);
        await BucketOperations.WriteXml(call, "InitiateMultipartUploadResult", w =>
        {
            w.WriteElementString("Bucket", bucket);
            w.WriteElementString("Key", key);
            w.WriteElementString("UploadId", upload.UploadId);
        }).ConfigureAwait(false);
    }

    public static async Task UploadPartAsync(S3Call call, string uploadId)
    {
        var bucket = call.RequireBucket();
        var key = call.RequireKey();
        var number = PartNumber(call);
        if (call.Header("x-amz-copy-source") is { } source)
        {
            await UploadPartCopyAsync(call, uploadId, number, source).ConfigureAwait(false);
            return;
        }
        var (algorithm, verify) = S3Integrity.FromRequest(call);
        using var customerKey = call.Sse.ReadCustomerKey(call);
        var part = await call.Store.UploadPartAsync(new UploadPartCommand(bucket, key, uploadId, number, call.Body, call.BodyLength,
            call.Principal, algorithm, verify, customerKey), call.Aborted).ConfigureAwait(false);
        call.Response.Headers.ETag = S3Headers.Quote(part.Md5Hex);
        if (customerKey is not null) ServerSideEncryption.WriteCustomerKeyHeaders(call);
        if (algorithm is { } a && part.Checksum is { } c) call.Response.Headers[Objects.Integrity.ChecksumAlgorithms.HeaderName(a)] = c;
        call.Response.StatusCode = 200;
    }

    private static async Task UploadPartCopyAsync(S3Call call, string uploadId, int number, string sourceHeader)
    {
        var source = await ObjectOperations.ReadCopySourceAsync(call, sourceHeader).ConfigureAwait(false);
        long start = 0, end = source.Size;
        if (call.Header("x-amz-copy-source-range") is { } rangeHeader)
            (start, end) = CopySourceRange(rangeHeader, source.Size);
        await call.Sse.AuthorizeReadAsync(call, source).ConfigureAwait(false);
        using var sourceKey = call.Sse.ReadCustomerKey(call, copySource: true);
        using var customerKey = call.Sse.ReadCustomerKey(call);
        using var reader = await call.Store.OpenAsync(source, call.Principal, start, end, sourceKey).ConfigureAwait(false);
        var part = await call.Store.UploadPartAsync(new UploadPartCommand(call.RequireBucket(), call.RequireKey(), uploadId, number,
            reader.Body, reader.Length, call.Principal, CustomerKey: customerKey), call.Aborted).ConfigureAwait(false);
        if (customerKey is not null) ServerSideEncryption.WriteCustomerKeyHeaders(call);
        await BucketOperations.WriteXml(call, "CopyPartResult", w =>
        {
            w.WriteElementString("LastModified", S3Xml.Timestamp(DateTimeOffset.UtcNow));
            w.WriteElementString("ETag", S3Headers.Quote(part.Md5Hex));
        }).ConfigureAwait(false);
    }

    public static async Task CompleteAsync(S3Call call, string uploadId)
    {
        var bucket = call.RequireBucket();
        var key = call.RequireKey();
        var xml = await S3Xml.ReadAsync(call.Body, 2 * 1024 * 1024, MaxCompleteElements, call.Aborted).ConfigureAwait(false);
        if (xml.Name.LocalName != "CompleteMultipartUpload") throw new S3Exception(S3Error.MalformedXml);
        var requested = new List<(int, string)>();
        foreach (var p in xml.Children("Part"))
        {
            if (!int.TryParse(p.ChildValue("PartNumber"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || p.ChildValue("ETag") is not { } etag)
                throw new S3Exception(S3Error.MalformedXml);
            requested.Add((n, etag));
        }
        if (requested.Count == 0) throw new S3Exception(S3Error.MalformedXml);
        var record = await call.Store.CompleteUploadAsync(bucket, key, uploadId, requested, call.Principal, S3Headers.ReadWriteCondition(call.Request), call.Aborted).ConfigureAwait(false);
        var metadata = await call.Store.ReadMetadataAsync(record, call.Principal).ConfigureAwait(false);
        await VersioningOperations.WriteVersionIdAsync(call, record).ConfigureAwait(false);
        if (metadata.ChecksumAlgorithm is { } alg && metadata.ChecksumValue is { } value && Objects.Integrity.ChecksumAlgorithms.TryParse(alg, out var a))
            call.Response.Headers[a.HeaderName()] = value;
        call.Sse.WriteHeaders(call, record.Key.KeyId, metadata.Encryption);
        await BucketOperations.WriteXml(call, "CompleteMultipartUploadResult", w =>
        {
            w.WriteElementString("Location", $"/{bucket}/{key}");
            w.WriteElementString("Bucket", bucket);
            w.WriteElementString("Key", key);
            w.WriteElementString("ETag", S3Headers.Quote(record.ETag));
        }).ConfigureAwait(false);
    }

    public static async Task AbortAsync(S3Call call, string uploadId)
    {
        await call.Store.AbortUploadAsync(call.RequireBucket(), call.RequireKey(), uploadId, call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 204;
    }

    public static async Task ListPartsAsync(S3Call call, string uploadId, string owner)
    {
        var bucket = call.RequireBucket();
        var key = call.RequireKey();
        var marker = int.TryParse(call.Query("part-number-marker"), NumberStyles.None, CultureInfo.InvariantCulture, out var m) ? m : 0;
        var max = int.TryParse(call.Query("max-parts"), NumberStyles.None, CultureInfo.InvariantCulture, out var mp) ? Math.Min(mp, 1000) : 1000;
        var upload = await call.Store.RequireUploadAsync(bucket, key, uploadId, call.Aborted).ConfigureAwait(false);
        var all = (await call.Store.ListPartsAsync(bucket, key, uploadId, call.Aborted).ConfigureAwait(false)).Where(p => p.Part.Number > marker).ToList();
        var page = all.Take(max).ToList();
        var truncated = all.Count > page.Count;
        await BucketOperations.WriteXml(call, "ListPartsResult", w =>
        {
            w.WriteElementString("Bucket", bucket);
            w.WriteElementString("Key", key);
            w.WriteElementString("UploadId", uploadId);
            BucketOperations.WriteOwner(w, owner);
            w.WriteStartElement("Initiator");
            w.WriteElementString("ID", owner);
            w.WriteElementString("DisplayName", owner);
            w.WriteEndElement();
            w.WriteElementString("StorageClass", upload.StorageClass);
            w.WriteElementString("PartNumberMarker", marker.ToString(CultureInfo.InvariantCulture));
            if (page.Count > 0) w.WriteElementString("NextPartNumberMarker", page[^1].Part.Number.ToString(CultureInfo.InvariantCulture));
            w.WriteElementString("MaxParts", max.ToString(CultureInfo.InvariantCulture));
            w.WriteElementString("IsTruncated", truncated ? "true" : "false");
            foreach (var p in page)
            {
                w.WriteStartElement("Part");
                w.WriteElementString("PartNumber", p.Part.Number.ToString(CultureInfo.InvariantCulture));
                w.WriteElementString("LastModified", S3Xml.Timestamp(p.Modified));
                w.WriteElementString("ETag", S3Headers.Quote(p.Part.Md5Hex));
                w.WriteElementString("Size", p.Part.Size.ToString(CultureInfo.InvariantCulture));
                w.WriteEndElement();
            }
        }).ConfigureAwait(false);
    }

    public static async Task ListUploadsAsync(S3Call call, string owner)
    {
        var bucket = call.RequireBucket();
        var prefix = call.Query("prefix") ?? "";
        var delimiter = call.Query("delimiter") is { Length: > 0 } d ? d : null;
        var keyMarker = call.Query("key-marker") ?? "";
        var uploadIdMarker = call.Query("upload-id-marker") ?? "";
        var maxUploads = 1000;
        if (call.Query("max-uploads") is { } mu && (!int.TryParse(mu, NumberStyles.None, CultureInfo.InvariantCulture, out maxUploads)))
            throw new S3Exception(S3Error.InvalidArgument, "Provided max-uploads not an integer or within integer range");
        maxUploads = Math.Clamp(maxUploads, 0, 1000);
        var url = call.Query("encoding-type") == "url";
        string E(string v) => url ? Uri.EscapeDataString(v).Replace("%2F", "/") : v;

        // In S3 order (key as UTF-8 bytes, then initiation), after the markers: keys past key-marker, and for
        // key-marker itself the uploads after upload-id-marker. A delimiter rolls keys up into common prefixes.
        var all = await call.Store.ListUploadsAsync(bucket, prefix, call.Aborted).ConfigureAwait(false);
        var entries = new List<(Objects.Catalog.UploadRecord? Upload, string? Prefix)>();
        var truncated = false;
        var afterIdMarker = uploadIdMarker.Length == 0;
        foreach (var u in all)
        {
            var cmp = Utf8Compare(u.Name, keyMarker);
            if (keyMarker.Length > 0 && cmp < 0) continue;
            if (keyMarker.Length > 0 && cmp == 0)
            {
                if (uploadIdMarker.Length == 0) continue;
                if (!afterIdMarker) { afterIdMarker = u.UploadId == uploadIdMarker; continue; }
            }
            string? common = null;
            if (delimiter is not null && u.Name.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal) is var cut and >= 0)
            {
                common = u.Name[..(cut + delimiter.Length)];
                if (keyMarker.Length > 0 && Utf8Compare(common, keyMarker) <= 0 && keyMarker.StartsWith(common, StringComparison.Ordinal)) continue;
                if (entries.Count > 0 && entries[^1].Prefix == common) continue;
            }
            if (entries.Count == maxUploads) { truncated = true; break; }
            entries.Add((common is null ? u : null, common));
        }
        var last = entries.Count > 0 ? entries[^1] : default;
        await BucketOperations.WriteXml(call, "ListMultipartUploadsResult", w =>
        {
            w.WriteElementString("Bucket", bucket);
            w.WriteElementString("KeyMarker", E(keyMarker));
            w.WriteElementString("UploadIdMarker", uploadIdMarker);
            if (truncated)
            {
                w.WriteElementString("NextKeyMarker", E(last.Upload?.Name ?? last.Prefix!));
                w.WriteElementString("NextUploadIdMarker", last.Upload?.UploadId ?? "");
            }
            w.WriteElementString("Prefix", E(prefix));
            if (delimiter is not null) w.WriteElementString("Delimiter", E(delimiter));
            if (url) w.WriteElementString("EncodingType", "url");
            w.WriteElementString("MaxUploads", maxUploads.ToString(CultureInfo.InvariantCulture));
            w.WriteElementString("IsTruncated", truncated ? "true" : "false");
            foreach (var (u, common) in entries)
            {
                if (u is null)
                {
                    w.WriteStartElement("CommonPrefixes");
                    w.WriteElementString("Prefix", E(common!));
                    w.WriteEndElement();
                    continue;
                }
                w.WriteStartElement("Upload");
                w.WriteElementString("Key", E(u.Name));
                w.WriteElementString("UploadId", u.UploadId);
                w.WriteStartElement("Initiator");
                w.WriteElementString("ID", owner);
                w.WriteElementString("DisplayName", owner);
                w.WriteEndElement();
                BucketOperations.WriteOwner(w, owner);
                w.WriteElementString("StorageClass", u.StorageClass);
                w.WriteElementString("Initiated", S3Xml.Timestamp(u.Created));
                w.WriteEndElement();
            }
        }).ConfigureAwait(false);
    }

    private static int Utf8Compare(string a, string b) =>
        System.Text.Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(System.Text.Encoding.UTF8.GetBytes(b));

    /// <summary>
    /// x-amz-copy-source-range: exactly "bytes=first-last" inside the source. Unlike a GET's Range it is never
    /// clamped: a part silently shorter than asked for would corrupt the assembled object.
    /// </summary>
    public static (long Start, long End) CopySourceRange(string header, long size)
    {
        var spec = header.Trim();
        var dash = spec.IndexOf('-');
        if (!spec.StartsWith("bytes=", StringComparison.Ordinal) || dash < 0
            || !long.TryParse(spec[6..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var first)
            || !long.TryParse(spec[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var last)
            || first > last)
            throw new S3Exception(S3Error.InvalidArgument, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy");
        if (last >= size)
            throw new S3Exception(S3Error.InvalidArgument, $"Range specified is not valid for source object of size: {size}");
        return (first, last + 1);
    }

    private static int PartNumber(S3Call call)
    {
        if (!int.TryParse(call.Query("partNumber"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n is < 1 or > ObjectStore.MaxPartNumber)
            throw new S3Exception(S3Error.InvalidArgument, "Part number must be an integer between 1 and 10000, inclusive.");
        return n;
    }
}
