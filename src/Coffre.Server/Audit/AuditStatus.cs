using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Server.Hosting;

namespace Coffre.Server.Audit;

/// <summary>The whole state of the audit trail as `coffre audit verify` and the sovereignty report give it: the hash
/// chain, the chain of signed checkpoints, and the newest checkpoints published outside keys.db compared with it.</summary>
public sealed record AuditStatus(AuditVerification Chain, AuditVerification Checkpoints, PublishedCheckpointReport Published, string? CheckpointKeyFingerprint)
{
    /// <summary>The first failure of the chain or of the checkpoints, if any.</summary>
    public AuditVerification? Failed => !Chain.Ok ? Chain : !Checkpoints.Ok ? Checkpoints : null;

    public bool Ok => Failed is null && Published.Findings.Count == 0;

    /// <param name="extraSinks">Further copies of the checkpoints to compare with (files an auditor keeps).</param>
    /// <param name="pinned">The checkpoint key fingerprint the auditor kept, if any.</param>
    /// <param name="stale">A newest checkpoint older than this is a finding.</param>
    public static async Task<AuditStatus> CheckAsync(Deployment deployment, CoffreServerOptions options, IEnumerable<IAuditCheckpointSink> extraSinks,
        string? pinned, TimeSpan stale, string principal, CancellationToken ct)
    {
        var chain = await deployment.Keys.VerifyAuditAsync(principal).ConfigureAwait(false);
        var checkpointer = new AuditCheckpointer(deployment.Keys, deployment.Audit);
        var signed = checkpointer.Verify();
        var backend = BackendsConfiguration.Create(options, deployment.DataDirectory); // every configured backend holds checkpoints
        try
        {
            var sinks = AuditCheckpointSinks.Create(options.Audit, backend);
            sinks.AddRange(extraSinks);
            var published = await PublishedCheckpointCheck.RunAsync(checkpointer.Audit, sinks, pinned, DateTimeOffset.UtcNow, stale, ct).ConfigureAwait(false);
            return new AuditStatus(chain, signed, published, checkpointer.PublicKeyFingerprint());
        }
        finally
        {
            (backend as IDisposable)?.Dispose();
        }
    }
}
