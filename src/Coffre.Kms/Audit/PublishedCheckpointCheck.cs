using System.Security.Cryptography;

namespace Coffre.Kms.Audit;

/// <summary>One thing `coffre audit verify` found wrong beyond the local chain: a stable code and a sentence saying what it means.</summary>
public sealed record AuditFinding(string Code, string Message);

/// <summary>The newest checkpoint a sink holds, or why it could not be read.</summary>
public sealed record SinkReading(string Sink, PublishedCheckpoint? Newest, string? Error);

public sealed record PublishedCheckpointReport(IReadOnlyList<SinkReading> Sinks, IReadOnlyList<AuditFinding> Findings);

/// <summary>
/// Compares keys.db with what was published outside it (docs/operations.md, "Audit checkpoints outside the data
/// directory"): someone who can write keys.db can delete the newest records together with every checkpoint that
/// covers them, and the local chain still verifies; the newest published checkpoint cannot be deleted from there.
/// Also checks the signing key against a pinned fingerprint and the published copies, and that signing did not stop.
/// </summary>
public static class PublishedCheckpointCheck
{
    /// <param name="pinnedFingerprint">SHA-256 of the public key the auditor kept, or null to trust the one in keys.db.</param>
    /// <param name="staleAfter">The newest checkpoint must be younger than this (two maintenance intervals).</param>
    public static async Task<PublishedCheckpointReport> RunAsync(IAuditLog audit, IEnumerable<IAuditCheckpointSink> sinks,
        string? pinnedFingerprint, DateTimeOffset now, TimeSpan staleAfter, CancellationToken cancellationToken)
    {
        var store = audit.Checkpoints;
        var findings = new List<AuditFinding>();
        var readings = new List<SinkReading>();
        var localKey = store.GetSigningKey()?.PublicKey;
        var localFingerprint = localKey is null ? null : AuditCheckpoint.Fingerprint(localKey);
        if (pinnedFingerprint is not null && localFingerprint is not null && !string.Equals(pinnedFingerprint, localFingerprint, StringComparison.OrdinalIgnoreCase))
            findings.Add(new("signing-key-replaced", $"The checkpoint signing key in keys.db (SHA-256 {localFingerprint}) is not the pinned key " +
                $"({pinnedFingerprint}): it was replaced, and checkpoints in keys.db signed with it prove nothing."));
        var trusted = pinnedFingerprint ?? localFingerprint;
        var localNewest = store.Newest();
        var lastRecord = audit.Head();
        var newestTime = localNewest?.Time;

        foreach (var sink in sinks)
        {
            PublishedCheckpoint? published;
            try
            {
                published = await sink.ReadNewestAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                readings.Add(new(sink.Name, null, e.Message));
                findings.Add(new("published-unreadable", $"Could not read the checkpoints published to {sink.Name} ({e.Message}): " +
                    "the local trail could not be compared with them."));
                continue;
            }
            readings.Add(new(sink.Name, published, null));
            if (published is null)
            {
                if (localNewest is { Version: AuditCheckpoint.Chained })
                    findings.Add(new("published-missing", $"{sink.Name} holds no checkpoint, though keys.db holds {localNewest.Number} chained ones: " +
                        "its copies were deleted, or publishing to it never succeeded (see the gateway's log)."));
                continue;
            }
            var c = published.Checkpoint;
            var fingerprint = AuditCheckpoint.Fingerprint(published.PublicKey);
            if (trusted is null)
            {
                findings.Add(new("signing-key-missing", $"{sink.Name} holds {c.Label} signed with key {fingerprint}, but keys.db has no " +
                    "checkpoint signing key (it was deleted) and none was pinned."));
                continue;
            }
            if (!string.Equals(fingerprint, trusted, StringComparison.OrdinalIgnoreCase))
            {
                findings.Add(new("published-key-mismatch", $"{c.Label} published to {sink.Name} is signed with key {fingerprint}, not with the " +
                    $"{(pinnedFingerprint is null ? "keys.db" : "pinned")} key {trusted}: one of the two was replaced."));
                continue;
            }
            if (!c.VerifySignature(published.PublicKey))
            {
                findings.Add(new("published-forged", $"{c.Label} published to {sink.Name} has an invalid signature (forged or modified copy)."));
                continue;
            }
            if (newestTime is null || c.Time > newestTime) newestTime = c.Time;

            var local = localNewest is { Version: AuditCheckpoint.Chained } ? localNewest.Number : 0;
            if (c.Number > local)
                findings.Add(new("checkpoints-removed", $"{sink.Name} holds {c.Label} (record #{c.Sequence}, signed at {c.TimeText}), but the chain " +
                    $"of checkpoints in keys.db ends at {(local == 0 ? "nothing" : "#" + local)}: checkpoints #{local + 1}..#{c.Number} were removed from keys.db."));
            else if (store.Chained(c.Number) is not { } same || !CryptographicOperations.FixedTimeEquals(same.Digest(), c.Digest()))
                findings.Add(new("checkpoint-replaced", $"{c.Label} in keys.db differs from the copy published to {sink.Name}: it was replaced."));

            if (lastRecord is null || lastRecord.Value.Sequence < c.Sequence)
            {
                var end = lastRecord?.Sequence ?? 0;
                findings.Add(new("records-removed", $"The newest checkpoint published to {sink.Name} ({c.Label}) covers record #{c.Sequence} signed at " +
                    $"{c.TimeText}; the local trail ends at #{end} < {c.Sequence}: records #{end + 1}..#{c.Sequence} were removed."));
            }
            else if (audit.RecordHash(c.Sequence) is not { } hash || !CryptographicOperations.FixedTimeEquals(hash, c.Hash))
                findings.Add(new("records-rewritten", $"Record #{c.Sequence} differs from the one {c.Label} published to {sink.Name} covers " +
                    "(the trail was rewritten up to there)."));
        }

        if (trusted is not null && (newestTime is null || now - newestTime > staleAfter))
            findings.Add(new("signing-stopped", newestTime is null
                ? "A checkpoint signing key exists but no checkpoint was found, in keys.db or published."
                : $"The newest checkpoint, in keys.db or published, was signed at {AuditChain.FormatTime(newestTime.Value)}, more than {staleAfter} ago " +
                  "(two maintenance intervals): checkpoint signing stopped, and records since then are protected by the chain alone."));
        return new PublishedCheckpointReport(readings, findings);
    }
}
