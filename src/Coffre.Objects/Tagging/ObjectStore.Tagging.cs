using System.Security.Cryptography;
using Coffre.Objects.Catalog;
using Coffre.Objects.Tagging;

namespace Coffre.Objects;

/// <summary>S3 tagging: an object version's tags, sealed with its metadata; a bucket's tags, in the catalog.</summary>
public sealed partial class ObjectStore
{
    // A tagging write races only with other tagging writes of the same version; a few rereads settle it.
    private const int TagWriteAttempts = 8;

    /// <summary>
    /// Replaces the tags of one object version (null or empty removes them), sealing its metadata anew with the
    /// version's own data key. The body and its encryption are untouched; a customer key (SSE-C) is not needed, as in S3.
    /// The version's manifest is written again before the answer, so a recovered catalog has the tags a client was last told of.
    /// </summary>
    public async Task SetTagsAsync(ObjectRecord record, IReadOnlyList<ObjectTag>? tags, string principal, CancellationToken ct = default)
    {
        var current = record;
        for (var attempt = 0; attempt < TagWriteAttempts; attempt++)
        {
            var dataKey = await UnwrapAsync(current.Bucket, current.Name, current.Key, principal).ConfigureAwait(false);
            byte[] resealed;
            try
            {
                var ad = ObjectBinding.MetadataAssociatedData(current.Bucket, current.Name, current.Key.KeyId);
                var metadata = ObjectMetadata.Open(current.SealedMetadata, dataKey, ad);
                resealed = (metadata with { Tags = tags is { Count: > 0 } ? tags : null }).Seal(dataKey, ad);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(dataKey);
            }
            if (await catalog.ReplaceSealedMetadataAsync(current.Bucket, current.Name, current.VersionId, current.SealedMetadata, resealed, ct).ConfigureAwait(false))
            {
                await _manifests.RefreshAsync(current.Bucket, current.Name, current.VersionId, principal, ct).ConfigureAwait(false);
                return;
            }
            current = (await catalog.GetVersionAsync(current.Bucket, current.Name, current.VersionId, ct).ConfigureAwait(false))?.Record
                ?? throw new ObjectStoreException(ObjectError.NoSuchKey, $"The object '{record.Name}' in bucket '{record.Bucket}' was deleted while its tags were being set.");
        }
        throw new ObjectStoreException(ObjectError.CatalogUnavailable,
            $"The tags of '{record.Name}' in bucket '{record.Bucket}' kept changing under concurrent tagging requests; retry.");
    }

    public async Task<IReadOnlyList<ObjectTag>?> GetBucketTagsAsync(string bucket, CancellationToken ct = default)
    {
        await RequireBucketAsync(bucket, ct).ConfigureAwait(false);
        return await catalog.GetBucketTagsAsync(bucket, ct).ConfigureAwait(false);
    }

    /// <summary>Replaces a bucket's tags, or removes them with null.</summary>
    public async Task SetBucketTagsAsync(string bucket, IReadOnlyList<ObjectTag>? tags, CancellationToken ct = default)
    {
        await RequireBucketAsync(bucket, ct).ConfigureAwait(false);
        await catalog.SetBucketTagsAsync(bucket, tags, ct).ConfigureAwait(false);
    }
}
