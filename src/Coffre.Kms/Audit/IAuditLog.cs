namespace Coffre.Kms.Audit;

/// <summary>
/// The audit trail: one hash chain of records (docs/format.md §8), its head, and the checkpoints that sign it.
/// Implementations (SQLite, PostgreSQL) give each appended record the next sequence number and chain it after
/// the head inside one transaction, so concurrent writers (threads, processes, instances sharing a database)
/// still produce one chain. They throw <see cref="KmsException"/> only: <see cref="KmsError.AuditUnavailable"/>
/// when records could not be written, <see cref="KmsError.StoreUnavailable"/> when they could not be read.
/// </summary>
public interface IAuditLog
{
    /// <summary>Appends the entries in one transaction, in order and chained after the head; completes once they
    /// are durable (as durable as <see cref="RelaxedDurability"/> allows).</summary>
    Task AppendAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken = default);

    /// <summary>Records matching <paramref name="filter"/>, oldest first.</summary>
    IReadOnlyList<AuditRecord> Read(AuditFilter filter);

    /// <summary>All records in sequence order, for verification, read page by page (records are only ever appended,
    /// so pages by sequence number are a consistent prefix of the chain).</summary>
    IEnumerable<AuditRecord> ReadChain()
    {
        const int page = 10_000;
        long after = 0;
        while (true)
        {
            var records = Read(new AuditFilter { AfterSequence = after, Limit = page });
            foreach (var r in records) yield return r;
            if (records.Count < page) yield break;
            after = records[^1].Sequence;
        }
    }

    /// <summary>Sequence number and hash of the newest record, or null when the trail is empty.</summary>
    (long Sequence, byte[] Hash)? Head();

    /// <summary>Hash of record <paramref name="sequence"/>, or null when there is no such record.</summary>
    byte[]? RecordHash(long sequence);

    /// <summary>The signed checkpoints of this chain, stored beside it.</summary>
    IAuditCheckpointStore Checkpoints { get; }

    /// <summary>Whether <see cref="RelaxedDurability"/> can be turned on (SQLite: synchronous=NORMAL).</summary>
    bool CanRelaxDurability { get; }

    /// <summary>
    /// Opt-in (default off): appended records are committed without waiting for the disk (a power failure can lose
    /// the last records of operations already answered; a crash of the process loses nothing). Setting it where
    /// <see cref="CanRelaxDurability"/> is false throws <see cref="KmsException"/> (<see cref="KmsError.InvalidArgument"/>).
    /// </summary>
    bool RelaxedDurability { get; set; }
}
