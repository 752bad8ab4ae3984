using System.Buffers;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Coffre.Storage;

/// <summary>
/// A blob store on any S3-compatible service (AWS, OVHcloud, Scaleway, Outscale, MinIO, Ceph RGW, Garage...).
/// Plain-body rule: requests carry plain, SigV4-signed bodies with an exact Content-Length — never aws-chunked
/// framing and no trailing checksums — because several servers store an aws-chunked body verbatim.
/// Bodies are read into one of the backend's part buffers (<see cref="S3BlobStoreOptions.PartSize"/> plus room for the
/// encryption's framing; <see cref="S3BlobStoreOptions.PartBuffers"/> of them at most): one PutObject when the whole
/// body fits, otherwise a multipart upload, completed (atomically) only once every part is in.
/// Blob keys are mapped with <see cref="S3KeyCodec"/> under <see cref="S3BlobStoreOptions.KeyPrefix"/>.
/// Every PutObject and UploadPart carries the body's Content-MD5, which every S3 service checks (BadDigest): a write
/// that succeeded stored the bytes sent (<see cref="ChecksWrites"/>), so `coffre migrate` need not read a copy back.
/// </summary>
public sealed class S3BlobStore : IBlobStore, IDisposable
{
    private const string MetaHeaderPrefix = "x-amz-meta-";
    private const string ContentType = "application/octet-stream";

    private readonly S3BlobStoreOptions _options;
    private readonly AmazonS3Client _client;
    private readonly string _bucket;
    private readonly string _prefix;
    private readonly PartBufferPool _partBuffers;

    public S3BlobStore(S3BlobStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        _options = options;
        _bucket = options.Bucket!;
        _prefix = options.KeyPrefix;
        _partBuffers = new PartBufferPool(options.PartBuffers, checked((int)(options.PartSize + options.PartSize / 64)));
        var config = new AmazonS3Config
        {
            ServiceURL = options.Endpoint,
            AuthenticationRegion = options.Region,
            ForcePathStyle = options.ForcePathStyle,
            // The plain-body rule: no flexible checksums unless an operation requires one.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            Timeout = options.Timeout,
            MaxErrorRetry = 3,
        };
        AWSCredentials credentials = string.IsNullOrEmpty(options.SessionToken)
            ? new BasicAWSCredentials(options.AccessKeyId, options.SecretAccessKey)
            : new SessionAWSCredentials(options.AccessKeyId, options.SecretAccessKey, options.SessionToken);
        _client = new AmazonS3Client(credentials, config);
    }

    public string Name => _options.Name;

    public bool ChecksWrites => true;

    private static string ContentMd5(byte[] buffer, int count) => Convert.ToBase64String(System.Security.Cryptography.MD5.HashData(buffer.AsSpan(0, count)));

    public string Describe() =>
        $"S3 '{Name}' {_options.Endpoint} bucket={_bucket} prefix='{_prefix}' region={_options.Region} " +
        $"pathStyle={_options.ForcePathStyle} partSize={_options.PartSize}";

    private string ObjectKey(string key)
    {
        var objectKey = _prefix + S3KeyCodec.Encode(key);
        if (Encoding.UTF8.GetByteCount(objectKey) > BlobKeys.MaxKeyBytes)
            throw new ArgumentException(
                $"Blob key is too long for S3 once encoded ({objectKey.Length} bytes with prefix; limit {BlobKeys.MaxKeyBytes}).", nameof(key));
        return objectKey;
    }

    // ---------------------------------------------------------------- put

    public async Task PutAsync(string key, Stream content, long? length, IReadOnlyDictionary<string, string> metadata,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        BlobKeys.ValidateMetadata(metadata);
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length));
        var objectKey = ObjectKey(key);
        // A small body gets a buffer of its size from the shared pool; any other takes one of the backend's part buffers,
        // whose size leaves room for the encryption's framing: a client's 16 MiB part, once encrypted, still fits one PutObject.
        var small = length is { } announced && announced <= SmallBody;
        var capacity = small ? (int)length!.Value : _partBuffers.Size;
        var buffer = small ? ArrayPool<byte>.Shared.Rent(capacity)
            : await _partBuffers.RentAsync(_options.RequestTimeout, cancellationToken).ConfigureAwait(false)
              ?? throw new BlobStoreException(BlobStoreError.Busy, Name, key,
                  $"All {_options.PartBuffers} part buffers of S3 backend '{Name}' (PartBuffers) stayed in use for " +
                  $"{_options.RequestTimeout.TotalSeconds:0.###} s: too many concurrent uploads. Retry later, or raise PartBuffers if memory allows.");
        try
        {
            var filled = await FillAsync(content, buffer, capacity, cancellationToken).ConfigureAwait(false);
            if (filled < capacity || length == filled)
            {
                if (filled == capacity && await content.ReadAsync(new byte[1], cancellationToken).ConfigureAwait(false) > 0)
                    throw new BlobStoreException(BlobStoreError.LengthMismatch, Name, key, $"Stream yielded more than the announced {length} bytes.");
                CheckLength(key, length, filled);
                var request = new PutObjectRequest
                {
                    BucketName = _bucket,
                    Key = objectKey,
                    InputStream = new MemoryStream(buffer, 0, filled, writable: false),
                    AutoCloseStream = true,
                    ContentType = ContentType,
                    UseChunkEncoding = false,
                    MD5Digest = ContentMd5(buffer, filled),
                };
                request.Headers.ContentLength = filled;
                CopyMetadata(metadata, request.Metadata);
                await Call(key, t => _client.PutObjectAsync(request, t), cancellationToken).ConfigureAwait(false);
                return;
            }
            await MultipartPutAsync(key, objectKey, content, length, metadata, buffer, filled, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (small) ArrayPool<byte>.Shared.Return(buffer);
            else _partBuffers.Return(buffer);
        }
    }

    private const int SmallBody = 1024 * 1024;

    private async Task MultipartPutAsync(string key, string objectKey, Stream content, long? length,
        IReadOnlyDictionary<string, string> metadata, byte[] buffer, int filled, CancellationToken ct)
    {
        var init = new InitiateMultipartUploadRequest { BucketName = _bucket, Key = objectKey, ContentType = ContentType };
        CopyMetadata(metadata, init.Metadata);
        var upload = await Call(key, t => _client.InitiateMultipartUploadAsync(init, t), ct).ConfigureAwait(false);
        var parts = new List<PartETag>();
        var completed = false;
        try
        {
            long total = 0;
            var partSize = _partBuffers.Size;
            var partNumber = 1;
            while (filled > 0)
            {
                if (partNumber > 10_000)
                    throw new BlobStoreException(BlobStoreError.Backend, Name, key, "Body needs more than 10000 parts; raise PartSize.");
                total += filled;
                if (total > length)
                    throw new BlobStoreException(BlobStoreError.LengthMismatch, Name, key, $"Stream yielded more than the announced {length} bytes.");
                var partRequest = new UploadPartRequest
                {
                    BucketName = _bucket,
                    Key = objectKey,
                    UploadId = upload.UploadId,
                    PartNumber = partNumber,
                    PartSize = filled,
                    InputStream = new MemoryStream(buffer, 0, filled, writable: false),
                    UseChunkEncoding = false,
                    MD5Digest = ContentMd5(buffer, filled),
                };
                var response = await Call(key, t => _client.UploadPartAsync(partRequest, t), ct).ConfigureAwait(false);
                parts.Add(new PartETag(partNumber, response.ETag));
                partNumber++;
                filled = await FillAsync(content, buffer, partSize, ct).ConfigureAwait(false);
            }
            CheckLength(key, length, total);
            var complete = new CompleteMultipartUploadRequest
            {
                BucketName = _bucket,
                Key = objectKey,
                UploadId = upload.UploadId,
                PartETags = parts,
            };
            await Call(key, t => _client.CompleteMultipartUploadAsync(complete, t), ct).ConfigureAwait(false);
            completed = true;
        }
        finally
        {
            if (!completed)
            {
                try
                {
                    using var deadline = new CancellationTokenSource(_options.RequestTimeout);
                    await _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest
                    {
                        BucketName = _bucket, Key = objectKey, UploadId = upload.UploadId,
                    }, deadline.Token).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Best effort: a lifecycle rule for incomplete uploads is the backstop (docs/storage.md).
                }
            }
        }
    }

    private void CheckLength(string key, long? expected, long actual)
    {
        if (expected is { } e && e != actual)
            throw new BlobStoreException(BlobStoreError.LengthMismatch, Name, key, $"Stream yielded {actual} bytes, {e} were announced.");
    }

    /// <summary>Reads until the buffer holds <paramref name="count"/> bytes or the stream ends.</summary>
    private static async Task<int> FillAsync(Stream s, byte[] buffer, int count, CancellationToken ct)
    {
        var filled = 0;
        while (filled < count)
        {
            var n = await s.ReadAsync(buffer.AsMemory(filled, count - filled), ct).ConfigureAwait(false);
            if (n == 0) break;
            filled += n;
        }
        return filled;
    }

    private static void CopyMetadata(IReadOnlyDictionary<string, string> source, MetadataCollection target)
    {
        foreach (var (name, value) in source) target[name] = value;
    }

    private static Dictionary<string, string> ReadMetadata(MetadataCollection collection)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in collection.Keys)
        {
            var shortName = name.StartsWith(MetaHeaderPrefix, StringComparison.OrdinalIgnoreCase) ? name[MetaHeaderPrefix.Length..] : name;
            result[shortName.ToLowerInvariant()] = collection[name];
        }
        return result;
    }

    // ---------------------------------------------------------------- get / head

    public async Task<BlobReadResult> GetAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length));
        var objectKey = ObjectKey(key);
        if (length == 0)
            return await EmptyReadAsync(key, offset, cancellationToken).ConfigureAwait(false);

        var request = new GetObjectRequest { BucketName = _bucket, Key = objectKey };
        var ranged = offset > 0 || length is not null;
        if (ranged)
            request.ByteRange = new ByteRange(length is { } l ? $"bytes={offset}-{offset + l - 1}" : $"bytes={offset}-");
        GetObjectResponse response;
        try
        {
            response = await Call(key, t => _client.GetObjectAsync(request, t), cancellationToken).ConfigureAwait(false);
        }
        catch (BlobStoreException e) when (e.InnerException is AmazonS3Exception { StatusCode: HttpStatusCode.RequestedRangeNotSatisfiable })
        {
            return await EmptyReadAsync(key, offset, cancellationToken).ConfigureAwait(false);
        }
        try
        {
            var received = response.Headers.ContentLength;
            long count, total;
            if (response.HttpStatusCode == HttpStatusCode.PartialContent)
            {
                if (!TryParseContentRange(response.ContentRange, out var start, out var end, out total) || start != offset || end < start)
                    throw new BlobStoreException(BlobStoreError.Backend, Name, key,
                        $"Asked for bytes from {offset}, the server answered Content-Range '{response.ContentRange}'.");
                // Some servers (s3rver with "bytes=0-0") answer a longer range than asked: hand out only what was asked.
                count = Math.Min(end - start + 1, length ?? long.MaxValue);
            }
            else
            {
                total = received;
                if (offset > 0)
                    throw new BlobStoreException(BlobStoreError.Backend, Name, key, "The server ignored the Range header.");
                count = Math.Min(total, length ?? long.MaxValue);
            }
            Stream body = new S3BodyStream(response.ResponseStream, Name, key);
            var stream = count == received ? body : new LengthLimitedStream(body, count);
            return new BlobReadResult(key, stream, offset, count, total, ReadMetadata(response.Metadata), response);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private async Task<BlobReadResult> EmptyReadAsync(string key, long offset, CancellationToken ct)
    {
        var head = await HeadAsync(key, ct).ConfigureAwait(false) ?? throw new BlobNotFoundException(Name, key);
        if (offset > head.Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"Offset {offset} is past the end of the blob ({head.Length} bytes).");
        return new BlobReadResult(key, new MemoryStream([], writable: false), offset, 0, head.Length, head.Metadata);
    }

    private static bool TryParseContentRange(string? contentRange, out long start, out long end, out long total)
    {
        // "bytes 0-9/100"
        start = end = total = 0;
        if (contentRange is null || !contentRange.StartsWith("bytes ", StringComparison.OrdinalIgnoreCase)) return false;
        var span = contentRange.AsSpan(6).Trim();
        var dash = span.IndexOf('-');
        var slash = span.IndexOf('/');
        return dash > 0 && slash > dash
            && long.TryParse(span[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out start)
            && long.TryParse(span[(dash + 1)..slash], NumberStyles.None, CultureInfo.InvariantCulture, out end)
            && long.TryParse(span[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out total);
    }

    public async Task<BlobInfo?> HeadAsync(string key, CancellationToken cancellationToken = default)
    {
        var objectKey = ObjectKey(key);
        try
        {
            var response = await Call(key, t => _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = objectKey }, t),
                cancellationToken).ConfigureAwait(false);
            return new BlobInfo(key, response.Headers.ContentLength, ReadMetadata(response.Metadata));
        }
        catch (BlobStoreException e) when (e.InnerException is AmazonS3Exception { StatusCode: HttpStatusCode.NotFound } s3 && s3.ErrorCode != "NoSuchBucket")
        {
            return null;
        }
    }

    // ---------------------------------------------------------------- delete / list

    public async Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var objectKey = ObjectKey(key);
        try
        {
            await Call(key, t => _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = objectKey }, t), cancellationToken).ConfigureAwait(false);
        }
        catch (BlobStoreException e) when (e.InnerException is AmazonS3Exception { ErrorCode: "NoSuchKey" })
        {
            // already gone
        }
    }

    public async IAsyncEnumerable<BlobListEntry> ListAsync(string prefix = "", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var request = new ListObjectsV2Request { BucketName = _bucket, Prefix = _prefix + S3KeyCodec.ListingPrefix(prefix) };
        while (true)
        {
            var response = await Call(null, t => _client.ListObjectsV2Async(request, t), cancellationToken).ConfigureAwait(false);
            foreach (var o in response.S3Objects ?? [])
            {
                if (!o.Key.StartsWith(_prefix, StringComparison.Ordinal)) continue;
                if (!S3KeyCodec.TryDecode(o.Key[_prefix.Length..], out var key)) continue; // not ours
                if (!key.StartsWith(prefix, StringComparison.Ordinal)) continue;
                yield return new BlobListEntry(key, o.Size ?? 0);
            }
            if (response.IsTruncated != true || string.IsNullOrEmpty(response.NextContinuationToken)) yield break;
            request.ContinuationToken = response.NextContinuationToken;
        }
    }

    // ---------------------------------------------------------------- errors

    /// <summary>
    /// One backend call under one deadline (<see cref="S3BlobStoreOptions.RequestTimeout"/>), the SDK's retries included,
    /// with every failure but the caller's own cancellation translated to a <see cref="BlobStoreException"/>.
    /// </summary>
    private async Task<T> Call<T>(string? key, Func<CancellationToken, Task<T>> action, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(_options.RequestTimeout);
        try
        {
            return await action(deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (!ct.IsCancellationRequested && Translate(key, e) is { } failure)
        {
            throw failure;
        }
    }

    private BlobStoreException? Translate(string? key, Exception e) => e switch
    {
        AmazonS3Exception s3 => Map(key, s3),
        // Only the deadline can have cancelled: the caller's cancellation is let through before.
        OperationCanceledException => Unavailable(key, $"no answer within {_options.RequestTimeout.TotalSeconds:0.###} s (RequestTimeout), retries included", e),
        HttpRequestException or IOException or System.Net.Sockets.SocketException or TimeoutException or AmazonClientException or AmazonServiceException =>
            Unavailable(key, e.Message, e),
        _ => null,
    };

    private BlobStoreException Map(string? key, AmazonS3Exception e)
    {
        if (key is not null && (e.ErrorCode == "NoSuchKey" || (e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode is null or "NotFound" or "")))
            return new BlobNotFoundException(Name, key, e);
        var what = e.ErrorCode == "NoSuchBucket" ? $"bucket '{_bucket}' does not exist" : $"{(int)e.StatusCode} {e.ErrorCode}: {e.Message}";
        // A server error or throttling is an outage that passes; any other refusal needs the configuration fixed.
        var error = (int)e.StatusCode >= 500 || (int)e.StatusCode == 429 ? BlobStoreError.Unavailable : BlobStoreError.Backend;
        return new BlobStoreException(error, Name, key, $"S3 backend '{Name}' ({_options.Endpoint}): {what}", e);
    }

    private BlobStoreException Unavailable(string? key, string what, Exception? inner) =>
        new(BlobStoreError.Unavailable, Name, key, $"S3 backend '{Name}' ({_options.Endpoint}) is unavailable: {what}", inner);

    public void Dispose() => _client.Dispose();
}
