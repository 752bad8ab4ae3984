namespace Coffre.Objects.Catalog;

/// <summary>How far a <see cref="CatalogCopy"/> got: records copied (or found already there) so far.</summary>
public readonly record struct CatalogCopyProgress(long Buckets, long Objects, long Uploads, long Parts, long Garbage);

/// <summary>
/// Copies one catalog into another (SQLite to PostgreSQL for `coffre store migrate`): every bucket, object, multipart
/// upload with its parts, and the garbage list, so that nothing the source would have collected leaks. Resumable:
/// running it again after an interruption skips what the target already holds and copies the rest; the source must
/// not change meanwhile (the caller makes sure no server writes to it).
/// </summary>
public static class CatalogCopy
{
    private const int Page = 1000;

    public static async Task<CatalogCopyProgress> RunAsync(IObjectCatalog source, IObjectCatalog target, IProgress<CatalogCopyProgress>? progress = null, CancellationToken ct = default)
    {
        long buckets = 0, objects = 0, uploads = 0, parts = 0, garbage = 0;
        CatalogCopyProgress Now() => new(buckets, objects, uploads, parts, garbage);
        foreach (var bucket in await source.ListBucketsAsync(ct).ConfigureAwait(false))
        {
            await target.TryCreateBucketAsync(bucket, ct).ConfigureAwait(false);
            if (await source.GetBucketEncryptionAsync(bucket.Name, ct).ConfigureAwait(false) is { } encryption)
                await target.SetBucketEncryptionAsync(bucket.Name, encryption, ct).ConfigureAwait(false);
            buckets++;
            progress?.Report(Now());
            string? after = null;
            while (true)
            {
                var page = await source.ListObjectsAsync(bucket.Name, "", null, after, Page, ct).ConfigureAwait(false);
                foreach (var record in page.Entries.Select(e => e.Record!))
                {
                    var there = await target.GetObjectAsync(record.Bucket, record.Name, ct).ConfigureAwait(false);
                    if (there is null || there.ETag != record.ETag || there.Parts[0].Blob != record.Parts[0].Blob)
                        await target.CommitObjectAsync(record, ct: ct).ConfigureAwait(false);
                    objects++;
                }
                progress?.Report(Now());
                if (!page.IsTruncated) break;
                after = page.NextMarker;
            }
            foreach (var upload in await source.ListUploadsAsync(bucket.Name, "", ct).ConfigureAwait(false))
            {
                if (await target.GetUploadAsync(upload.UploadId, ct).ConfigureAwait(false) is null)
                    await target.CreateUploadAsync(upload, ct).ConfigureAwait(false);
                foreach (var part in await source.ListUploadPartsAsync(upload.UploadId, ct).ConfigureAwait(false))
                {
                    await target.PutUploadPartAsync(upload.UploadId, part.Part, part.Modified, ct).ConfigureAwait(false);
                    parts++;
                }
                uploads++;
                progress?.Report(Now());
            }
        }
        // Garbage arrives dated as pending (a day ahead): collected a day late rather than too early, since the
        // interface does not carry the source's dates.
        foreach (var blob in await source.GarbageOlderThanAsync(DateTimeOffset.MaxValue, ct).ConfigureAwait(false))
        {
            await target.RecordPendingBlobAsync(blob, ct).ConfigureAwait(false);
            garbage++;
        }
        progress?.Report(Now());
        return Now();
    }
}
