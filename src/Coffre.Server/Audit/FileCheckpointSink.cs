using System.Text;
using Coffre.Kms.Audit;

namespace Coffre.Server.Audit;

/// <summary>
/// Appends each checkpoint as one JSON line to a file (for a SIEM to collect, or on storage the data directory's
/// owner cannot rewrite: a separate mount, `chattr +a`). Only ever appended to; a line torn by a crash is skipped
/// when reading.
/// </summary>
public sealed class FileCheckpointSink(string path) : IAuditCheckpointSink
{
    public string Name => $"file {path}";

    public async Task PublishAsync(PublishedCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        var line = Encoding.UTF8.GetBytes(AuditCheckpointDocument.Write(checkpoint) + "\n");
        await using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 4096, FileOptions.Asynchronous);
        await file.WriteAsync(line, cancellationToken).ConfigureAwait(false);
        file.Flush(flushToDisk: true);
    }

    /// <summary>The line with the highest checkpoint number; null when the file does not exist (yet).</summary>
    public async Task<PublishedCheckpoint?> ReadNewestAsync(CancellationToken cancellationToken)
    {
        PublishedCheckpoint? newest = null;
        if (!File.Exists(path)) return null;
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 4096, FileOptions.Asynchronous | FileOptions.SequentialScan));
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            if (AuditCheckpointDocument.TryRead(line) is { } c && (newest is null || c.Checkpoint.Number > newest.Checkpoint.Number))
                newest = c;
        return newest;
    }
}
