using System.Globalization;
using System.Text;
using Coffre.Kms.Audit;
using Coffre.Storage;

namespace Coffre.Server.Audit;

/// <summary>
/// Publishes checkpoints to a storage backend, one blob per checkpoint named by its number (zero-padded, so that the
/// newest is the last name in order) under the reserved <see cref="BlobKeys.AuditCheckpointPrefix"/>. Write-once: the
/// blob store has no create-only put, so an existing blob is compared instead of replaced, and a new one is read back.
/// </summary>
public sealed class BlobStoreCheckpointSink(IBlobStore blobs) : IAuditCheckpointSink
{
    private static readonly Dictionary<string, string> NoMetadata = new();

    public string Name => $"backend {blobs.Describe()}";

    public static string BlobName(long number) => BlobKeys.AuditCheckpointPrefix + number.ToString("D20", CultureInfo.InvariantCulture) + ".json";

    public async Task PublishAsync(PublishedCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        var name = BlobName(checkpoint.Checkpoint.Number);
        var bytes = Encoding.UTF8.GetBytes(AuditCheckpointDocument.Write(checkpoint) + "\n");
        if (await blobs.HeadAsync(name, cancellationToken).ConfigureAwait(false) is null)
            await blobs.PutAsync(name, new MemoryStream(bytes, writable: false), bytes.Length, NoMetadata, cancellationToken).ConfigureAwait(false);
        if (!(await ReadAsync(name, cancellationToken).ConfigureAwait(false)).AsSpan().SequenceEqual(bytes))
            throw new InvalidOperationException($"{name} on {Name} holds another {checkpoint.Checkpoint.Label} than the one signed in keys.db: " +
                "a published checkpoint is never overwritten; compare both with `coffre audit verify`.");
    }

    public async Task<PublishedCheckpoint?> ReadNewestAsync(CancellationToken cancellationToken)
    {
        string? newest = null;
        await foreach (var blob in blobs.ListAsync(BlobKeys.AuditCheckpointPrefix, cancellationToken).ConfigureAwait(false))
            if (newest is null || string.CompareOrdinal(blob.Key, newest) > 0) newest = blob.Key;
        if (newest is null) return null;
        var text = Encoding.UTF8.GetString(await ReadAsync(newest, cancellationToken).ConfigureAwait(false));
        return AuditCheckpointDocument.TryRead(text.TrimEnd('\n'))
            ?? throw new InvalidDataException($"{newest} on {Name} is not a well-formed audit checkpoint.");
    }

    private async Task<byte[]> ReadAsync(string name, CancellationToken cancellationToken)
    {
        await using var read = await blobs.GetAsync(name, cancellationToken: cancellationToken).ConfigureAwait(false);
        using var copy = new MemoryStream();
        await read.Content.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
        return copy.ToArray();
    }
}
