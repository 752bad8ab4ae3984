using Coffre.Kms.Audit;
using Coffre.Server.Hosting;
using Coffre.Storage;

namespace Coffre.Server.Audit;

/// <summary>The checkpoint sinks a configuration names: the storage backend and the checkpoint file. Shared by `serve` and `coffre audit`.</summary>
public static class AuditCheckpointSinks
{
    public static List<IAuditCheckpointSink> Create(AuditOptions audit, IBlobStore backend)
    {
        var sinks = new List<IAuditCheckpointSink>();
        if (audit.PublishToBackend) sinks.Add(new BlobStoreCheckpointSink(backend));
        if (audit.CheckpointFile is { Length: > 0 } file) sinks.Add(new FileCheckpointSink(Path.GetFullPath(file)));
        return sinks;
    }
}
