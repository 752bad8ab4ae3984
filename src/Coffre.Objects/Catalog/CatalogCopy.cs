namespace Coffre.Objects.Catalog;

/// <summary>How far a <see cref="CatalogCopy"/> got: records copied (or found already there) so far.</summary>
public readonly record struct CatalogCopyProgress(long Buckets, long Objects, long Uploads, long Parts, long Garbage);

/// <summary>
/// Copies one catalog into another (SQLite to PostgreSQL for `coffre store migrate`): every bucket (with its encryption and tags), object version and delete marker, multipart
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
            if (await source.GetBucketTagsAsync(bucket.Name, ct).ConfigureAwait(false) is { } tags)
                await target.SetBucketTagsAsync(bucket.Name, tags, ct).ConfigureAwait(false);
            buckets++;
            progress?.Report(Now());
            if (bucket.Versioning != Versions.BucketVersioning.Unversioned)
                await target.SetBucketVersioningAsync(bucket.Name, bucket.Versioning, ct).ConfigureAwait(false);
            // Every version of every name, delete markers included. A name's versions are committed oldest first, so
            // the target gives them the source's order; the ones the target already holds (a resumed copy) are skipped.
            var versions = new List<VersionEntry>();
            string? keyMarker = null, versionMarker = null;
            while (true)
            {
                var page = await source.ListVersionsAsync(bucket.Name, "", null, keyMarker, versionMarker, Page, ct).ConfigureAwait(false);
                foreach (var entry in page.Entries.Select(e => e.Version!))
                {
                    if (versions.Count > 0 && versions[0].Name != entry.Name)
                        objects += await CopyVersionsAsync(target, versions, ct).ConfigureAwait(false);
                    versions.Add(entry);
                }
                progress?.Report(Now());
                if (!page.IsTruncated) break;
                (keyMarker, versionMarker) = (page.NextKeyMarker, page.NextVersionIdMarker);
            }
            objects += await CopyVersionsAsync(target, versions, ct).ConfigureAwait(false);
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

    /// <summary>Commits one name's versions (given newest first) oldest first, skipping those the target holds; empties the list.</summary>
    private static async Task<long> CopyVersionsAsync(IObjectCatalog target, List<VersionEntry> versions, CancellationToken ct)
    {
        for (var i = versions.Count - 1; i >= 0; i--)
        {
            var v = versions[i];
            var there = await target.GetVersionAsync(v.Bucket, v.Name, v.VersionId, ct).ConfigureAwait(false);
            if (there is not null && there.Record?.Parts[0].Blob == v.Record?.Parts[0].Blob) continue;
            if (v.Record is { } record)
                await target.CommitObjectAsync(record, ct: ct).ConfigureAwait(false);
            else
                await target.CommitDeleteMarkerAsync(v.Bucket, v.Name, v.VersionId, v.Modified, ct).ConfigureAwait(false);
        }
        var count = versions.Count;
        versions.Clear();
        return count;
    }
}
