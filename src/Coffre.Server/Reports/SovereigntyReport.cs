using Coffre.Storage.Placement;

namespace Coffre.Server.Reports;

/// <summary>
/// `coffre report sovereignty`: per bucket, where every copy is and under which law, who holds its key and how, the
/// state of the audit trail, missing copies, and the answer to "who could obtain the plaintext, and who could deny us
/// access?" derived from those facts. One model, rendered as JSON, Markdown and HTML, so that every format shows the
/// same figures.
/// </summary>
public sealed record SovereigntyReport(DateTimeOffset Generated, string DeploymentId, KeyCustody Custody, AuditSummary Audit,
    IReadOnlyList<BucketSovereignty> Buckets);

/// <summary>Where keys live: the root of trust (passphrase, Shamir shares, HSM) and the key database.</summary>
public sealed record KeyCustody(string RootKind, string RootDetail, string KeyDatabase, string KeysLocation);

/// <summary>The audit chain's verification and its newest checkpoint published outside keys.db.</summary>
public sealed record AuditSummary(bool Ok, long Records, long CheckpointsVerified, string? Problem, IReadOnlyList<PublishedCheckpointSummary> Published,
    IReadOnlyList<string> Findings);

public sealed record PublishedCheckpointSummary(string Sink, long? Number, long? Sequence, string? Time, string? Error);

/// <summary>The bucket's key and whether it meets its rotation policy.</summary>
public sealed record BucketKey(string? Name, string? Id, string? State, int? PrimaryVersion, string? RotationPeriod, DateTimeOffset? NextRotation,
    string Rotation, string? Problem);

/// <summary>One copy: the backend and all its facts (each with origin, source and date).</summary>
public sealed record CopyLocation(string Backend, string Type, BackendFacts Facts);

/// <summary>How many objects the catalog holds and how many of their copies were found missing or unreachable.</summary>
/// <param name="Recorded">Per backend, how many of the bucket's blobs the catalog records a copy of there (a backend outside the placement included).</param>
public sealed record CopyHealth(long Objects, long Blobs, long MissingCopies, long UnreachableChecks, string? Migration,
    IReadOnlyList<RecordedCopies> Recorded);

/// <summary>How many of a bucket's blobs the catalog records on one backend, and whether the placement requires that backend.</summary>
public sealed record RecordedCopies(string Backend, long Blobs, bool Required);

public sealed record BucketSovereignty(string Name, string PlacementSource, PlacementPolicy Policy, IReadOnlyList<CopyLocation> Copies, BucketKey Key,
    CopyHealth Health, IReadOnlyList<string> WhoCouldObtainPlaintext, IReadOnlyList<string> WhoCouldDenyAccess);
