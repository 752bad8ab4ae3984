namespace Coffre.Kms.Audit;

/// <summary>One operation to record, before the store gives it a sequence number and hashes.</summary>
public sealed record AuditEntry(
    DateTimeOffset Time,
    string Principal,
    string Operation,
    string? KeyId,
    string? KeyName,
    int? KeyVersion,
    string? Context,
    string Result);

/// <summary>A stored audit record. <see cref="TimeText"/> is the exact stored (and hashed) time string.</summary>
public sealed record AuditRecord(
    long Sequence,
    string TimeText,
    string Principal,
    string Operation,
    string? KeyId,
    string? KeyName,
    int? KeyVersion,
    string? Context,
    string Result,
    byte[] PrevHash,
    byte[] Hash)
{
    public DateTimeOffset Time => AuditChain.ParseTime(TimeText);

    public override string ToString() =>
        $"#{Sequence} {TimeText} {Principal} {Operation} {KeyName ?? KeyId ?? "-"}{(KeyVersion is { } v ? " v" + v : "")} {Result}";
}

/// <summary>Which audit records to read. Null fields do not filter.</summary>
public sealed record AuditFilter
{
    /// <summary>Matches the record's key id or key name.</summary>
    public string? Key { get; init; }
    public string? Principal { get; init; }
    public string? Operation { get; init; }
    /// <summary>Inclusive lower bound on the record time.</summary>
    public DateTimeOffset? From { get; init; }
    /// <summary>Exclusive upper bound on the record time.</summary>
    public DateTimeOffset? To { get; init; }
    /// <summary>Records whose context holds every one of these members with exactly this value (e.g. the
    /// gateway's <c>coffre:bucket</c> and <c>coffre:object</c>). Member names may not contain '"'.</summary>
    public IReadOnlyDictionary<string, string>? Context { get; init; }
    /// <summary>Only records with a sequence number greater than this (paging).</summary>
    public long? AfterSequence { get; init; }
    /// <summary>Only records with a sequence number up to this one, inclusive.</summary>
    public long? ThroughSequence { get; init; }
    /// <summary>The newest <see cref="Limit"/> matching records instead of the oldest (still returned oldest first).</summary>
    public bool Newest { get; init; }
    public int Limit { get; init; } = 1000;

    public static AuditFilter All { get; } = new();
}

/// <summary>Result of verifying the audit chain.</summary>
public sealed record AuditVerification(bool Ok, long RecordsChecked, long? FirstBadSequence, string? Reason)
{
    public override string ToString() =>
        Ok ? $"audit chain ok ({RecordsChecked} records)" : $"audit chain broken at record {FirstBadSequence}: {Reason}";
}
