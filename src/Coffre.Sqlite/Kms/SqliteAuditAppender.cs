using Coffre.Kms.Audit;
using Microsoft.Data.Sqlite;

namespace Coffre.Sqlite.Kms;

/// <summary>
/// The two statements that chain audit records after the head, prepared once per connection: the group-commit
/// writer keeps one for its connection instead of parsing both again for every batch. The caller's transaction
/// is IMMEDIATE (SQLite's one writer), so the head it reads cannot move before it commits.
/// </summary>
internal sealed class SqliteAuditAppender : IDisposable
{
    private readonly SqliteCommand _tail;
    private readonly SqliteCommand _insert;
    private readonly SqliteParameter _seq, _time, _principal, _operation, _keyId, _keyName, _keyVersion, _context, _result, _prev, _hash;

    public SqliteAuditAppender(SqliteConnection c)
    {
        _tail = SqliteSql.Command(c, null, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
        _insert = SqliteSql.Command(c, null, "INSERT INTO audit (seq, time, principal, operation, key_id, key_name, key_version, context, result, prev_hash, hash) VALUES ($seq, $time, $principal, $operation, $key_id, $key_name, $key_version, $context, $result, $prev, $hash)");
        _seq = _insert.Parameters.Add("$seq", SqliteType.Integer);
        _time = _insert.Parameters.Add("$time", SqliteType.Text);
        _principal = _insert.Parameters.Add("$principal", SqliteType.Text);
        _operation = _insert.Parameters.Add("$operation", SqliteType.Text);
        _keyId = _insert.Parameters.Add("$key_id", SqliteType.Text);
        _keyName = _insert.Parameters.Add("$key_name", SqliteType.Text);
        _keyVersion = _insert.Parameters.Add("$key_version", SqliteType.Integer);
        _context = _insert.Parameters.Add("$context", SqliteType.Text);
        _result = _insert.Parameters.Add("$result", SqliteType.Text);
        _prev = _insert.Parameters.Add("$prev", SqliteType.Blob);
        _hash = _insert.Parameters.Add("$hash", SqliteType.Blob);
    }

    public void Append(SqliteTransaction tx, IReadOnlyList<AuditEntry> entries)
    {
        long seq = 0;
        var prev = AuditChain.Genesis;
        _tail.Transaction = tx;
        using (var r = _tail.ExecuteReader())
        {
            if (r.Read())
            {
                seq = r.GetInt64(0);
                prev = (byte[])r.GetValue(1);
            }
        }
        _insert.Transaction = tx;
        foreach (var e in entries)
        {
            var rec = AuditChain.Seal(e, ++seq, prev);
            _seq.Value = rec.Sequence;
            _time.Value = rec.TimeText;
            _principal.Value = rec.Principal;
            _operation.Value = rec.Operation;
            _keyId.Value = (object?)rec.KeyId ?? DBNull.Value;
            _keyName.Value = (object?)rec.KeyName ?? DBNull.Value;
            _keyVersion.Value = (object?)rec.KeyVersion ?? DBNull.Value;
            _context.Value = (object?)rec.Context ?? DBNull.Value;
            _result.Value = rec.Result;
            _prev.Value = rec.PrevHash;
            _hash.Value = rec.Hash;
            _insert.ExecuteNonQuery();
            prev = rec.Hash;
        }
    }

    public void Dispose()
    {
        _tail.Dispose();
        _insert.Dispose();
    }
}
