using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Coffre.Kms.Audit;

/// <summary>
/// Hash chain over audit records (docs/format.md §8):
/// hash = SHA-256(prev_hash || "coffre/v1/audit" || u64(seq) || lp(time) || lp(principal) || lp(operation)
///        || opt(key_id) || opt(key_name) || optu32(key_version) || opt(context) || lp(result)),
/// prev_hash of record 1 = 32 zero bytes.
/// </summary>
public static class AuditChain
{
    public const string TimeFormat = "yyyy-MM-ddTHH:mm:ss.fffffffZ";
    public const int HashSize = 32;
    private static ReadOnlySpan<byte> Label => "coffre/v1/audit"u8;

    public static byte[] Genesis => new byte[HashSize];

    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    public static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.ParseExact(text, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static byte[] Hash(ReadOnlySpan<byte> prevHash, long sequence, string timeText, string principal, string operation,
        string? keyId, string? keyName, int? keyVersion, string? context, string result)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData(prevHash);
        h.AppendData(Label);
        Span<byte> n = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(n, (ulong)sequence);
        h.AppendData(n);
        Lp(h, timeText);
        Lp(h, principal);
        Lp(h, operation);
        Opt(h, keyId);
        Opt(h, keyName);
        if (keyVersion is { } v)
        {
            h.AppendData([1]);
            BinaryPrimitives.WriteUInt32BigEndian(n, (uint)v);
            h.AppendData(n[..4]);
        }
        else h.AppendData([0]);
        Opt(h, context);
        Lp(h, result);
        return h.GetHashAndReset();
    }

    public static byte[] Hash(ReadOnlySpan<byte> prevHash, AuditRecord r) =>
        Hash(prevHash, r.Sequence, r.TimeText, r.Principal, r.Operation, r.KeyId, r.KeyName, r.KeyVersion, r.Context, r.Result);

    /// <summary>Seals an entry as record <paramref name="sequence"/> after <paramref name="prevHash"/>.</summary>
    public static AuditRecord Seal(AuditEntry e, long sequence, byte[] prevHash)
    {
        var time = FormatTime(e.Time);
        var hash = Hash(prevHash, sequence, time, e.Principal, e.Operation, e.KeyId, e.KeyName, e.KeyVersion, e.Context, e.Result);
        return new AuditRecord(sequence, time, e.Principal, e.Operation, e.KeyId, e.KeyName, e.KeyVersion, e.Context, e.Result, prevHash, hash);
    }

    /// <summary>Verifies records given in sequence order from record 1; stops at the first fault.</summary>
    public static AuditVerification Verify(IEnumerable<AuditRecord> records)
    {
        var prev = Genesis;
        long expected = 1, checkedCount = 0;
        foreach (var r in records)
        {
            if (r.Sequence != expected)
                return r.Sequence > expected
                    ? new(false, checkedCount, expected, $"record {expected} is missing (deleted); the next stored record is {r.Sequence}")
                    : new(false, checkedCount, r.Sequence, $"record {r.Sequence} is out of order (expected {expected})");
            if (!CryptographicOperations.FixedTimeEquals(r.PrevHash, prev))
                return new(false, checkedCount, r.Sequence, "its prev_hash does not match the previous record's hash (a record was deleted, inserted or reordered)");
            var recomputed = Hash(prev, r);
            if (!CryptographicOperations.FixedTimeEquals(recomputed, r.Hash))
                return new(false, checkedCount, r.Sequence, "its hash does not match its content (the record was modified)");
            prev = r.Hash;
            expected++;
            checkedCount++;
        }
        return new(true, checkedCount, null, null);
    }

    private static void Lp(IncrementalHash h, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        Span<byte> n = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(n, (uint)bytes.Length);
        h.AppendData(n);
        h.AppendData(bytes);
    }

    private static void Opt(IncrementalHash h, string? value)
    {
        if (value is null) { h.AppendData([0]); return; }
        h.AppendData([1]);
        Lp(h, value);
    }
}
