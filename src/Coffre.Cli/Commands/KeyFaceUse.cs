using Coffre.Kms.Audit;
using Coffre.Kms.Keys;

namespace Coffre.Cli.Commands;

/// <summary>How one protocol face used one key: successful uses, refusals, and the time of the last use.</summary>
public sealed record KeyFaceUse(string Face, long Uses, long Refused, DateTimeOffset? LastUse)
{
    /// <summary>
    /// Key id → the faces that used it (oldest name first), from one pass over the audit trail (recorded once, as an
    /// export is). Records without a face (the CLI's own, lifecycle changes, the scheduler) are not uses by a face.
    /// </summary>
    public static async Task<Dictionary<string, List<KeyFaceUse>>> ReadAsync(KeyManager keys, string principal, CancellationToken ct)
    {
        var uses = new Dictionary<(string KeyId, string Face), (long Uses, long Refused, DateTimeOffset? Last)>();
        await foreach (var record in keys.StreamAudit(new AuditFilter { Limit = int.MaxValue }, principal, follow: false, TimeSpan.FromSeconds(1), ct))
        {
            if (record.KeyId is null || AuditCommands.FaceOf(record) is not { } face) continue;
            var (n, refused, last) = uses.GetValueOrDefault((record.KeyId, face));
            uses[(record.KeyId, face)] = record.Result == "ok" ? (n + 1, refused, record.Time) : (n, refused + 1, last);
        }
        return uses.GroupBy(u => u.Key.KeyId).ToDictionary(g => g.Key,
            g => g.Select(u => new KeyFaceUse(u.Key.Face, u.Value.Uses, u.Value.Refused, u.Value.Last)).OrderBy(f => f.Face, StringComparer.Ordinal).ToList());
    }
}
