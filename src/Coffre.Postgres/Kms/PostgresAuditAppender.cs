using Coffre.Kms.Audit;
using Npgsql;
using NpgsqlTypes;

namespace Coffre.Postgres.Kms;

/// <summary>
/// Chains audit records after the head inside the caller's transaction. The head row is taken <c>FOR UPDATE</c>
/// first: an appender on another connection or instance waits until this transaction ends, then chains after what
/// it committed, so every instance writes into one chain. The inserts and the head update go in one batch (one round
/// trip); the synchronous form serves key-store transactions, the asynchronous one the group commit.
/// </summary>
internal static class PostgresAuditAppender
{
    private const string LockHead = "SELECT seq, hash FROM kms_audit_head WHERE id = 1 FOR UPDATE";

    public static void Append(NpgsqlConnection c, NpgsqlTransaction tx, IReadOnlyList<AuditEntry> entries)
    {
        (long, byte[]) head;
        using (var cmd = new NpgsqlCommand(LockHead, c, tx))
        using (var r = cmd.ExecuteReader())
        {
            r.Read();
            head = (r.GetInt64(0), r.GetFieldValue<byte[]>(1));
        }
        using var batch = Chain(c, tx, head, entries);
        batch.ExecuteNonQuery();
    }

    /// <summary>
    /// One audit batch in a transaction of its own, in two round trips: BEGIN and the head lock go together, and the
    /// inserts, the head update and COMMIT go together. The head row stays locked for one round trip and the WAL flush,
    /// not three: while two instances take turns on the chain, that lock is what serialises them.
    /// </summary>
    public static async Task AppendInOwnTransactionAsync(NpgsqlConnection c, IReadOnlyList<AuditEntry> entries, bool relaxedDurability, CancellationToken cancellationToken)
    {
        (long, byte[]) head;
        await using (var begin = new NpgsqlBatch(c))
        {
            begin.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
            // The commit returns before the server flushes its WAL (IAuditLog.RelaxedDurability); this transaction only.
            if (relaxedDurability) begin.BatchCommands.Add(new NpgsqlBatchCommand("SET LOCAL synchronous_commit = off"));
            begin.BatchCommands.Add(new NpgsqlBatchCommand(LockHead));
            await using var r = await begin.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await r.ReadAsync(cancellationToken).ConfigureAwait(false);
            head = (r.GetInt64(0), await r.GetFieldValueAsync<byte[]>(1, cancellationToken).ConfigureAwait(false));
        }
        await using var batch = Chain(c, null, head, entries);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static NpgsqlBatch Chain(NpgsqlConnection c, NpgsqlTransaction? tx, (long Sequence, byte[] Hash) head, IReadOnlyList<AuditEntry> entries)
    {
        var batch = new NpgsqlBatch(c, tx);
        var (seq, prev) = head;
        foreach (var e in entries)
        {
            var rec = AuditChain.Seal(e, ++seq, prev);
            var cmd = new NpgsqlBatchCommand(
                "INSERT INTO kms_audit (seq, time, principal, operation, key_id, key_name, key_version, context, result, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)");
            cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = rec.Sequence });
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = rec.TimeText });
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = rec.Principal });
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = rec.Operation });
            cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)rec.KeyId ?? DBNull.Value });
            cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)rec.KeyName ?? DBNull.Value });
            cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = (object?)rec.KeyVersion ?? DBNull.Value });
            cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)rec.Context ?? DBNull.Value });
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = rec.Result });
            cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = rec.PrevHash });
            cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = rec.Hash });
            batch.BatchCommands.Add(cmd);
            prev = rec.Hash;
        }
        var update = new NpgsqlBatchCommand("UPDATE kms_audit_head SET seq = $1, hash = $2 WHERE id = 1");
        update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = seq });
        update.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = prev });
        batch.BatchCommands.Add(update);
        return batch;
    }
}
