using System.Text.Json;

namespace Coffre.Kms.Audit;

/// <summary>
/// The published form of a chained checkpoint (docs/format.md §9): one line of JSON, the same in every sink, carrying
/// the public key so that a copy can be verified alone (and compared with the key an auditor pinned).
/// </summary>
public static class AuditCheckpointDocument
{
    public const string Format = "coffre-audit-checkpoint";

    // Plain JSON for log files and SIEMs (no HTML-safe escaping: base64's '+' stays '+', so the key can be grepped).
    private static readonly JsonSerializerOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Write(PublishedCheckpoint published)
    {
        var c = published.Checkpoint;
        return JsonSerializer.Serialize(new Document(Format, c.Version, c.Number, c.Sequence, Convert.ToHexStringLower(c.Hash),
            Convert.ToHexStringLower(c.Previous), c.TimeText, Convert.ToHexStringLower(c.Signature),
            Convert.ToBase64String(published.PublicKey), AuditCheckpoint.Fingerprint(published.PublicKey)), Options);
    }

    /// <summary>The checkpoint in <paramref name="line"/>, or null when the line is not a well-formed chained checkpoint (a torn last line, another format).</summary>
    public static PublishedCheckpoint? TryRead(string line)
    {
        try
        {
            var d = JsonSerializer.Deserialize<Document>(line);
            if (d is not { format: Format, version: AuditCheckpoint.Chained } || d.time is null || d.hash is null || d.previous is null
                || d.signature is null || d.publicKey is null)
                return null;
            var checkpoint = new AuditCheckpoint(d.version, d.number, d.sequence, Convert.FromHexString(d.hash), Convert.FromHexString(d.previous),
                d.time, Convert.FromHexString(d.signature));
            return checkpoint.Hash.Length == 32 && checkpoint.Previous.Length == 32
                ? new PublishedCheckpoint(checkpoint, Convert.FromBase64String(d.publicKey)) : null;
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            return null;
        }
    }

    // Field names are the document's (lower-case), so the record's are too.
#pragma warning disable IDE1006
    private sealed record Document(string format, int version, long number, long sequence, string? hash, string? previous, string? time,
        string? signature, string? publicKey, string? publicKeyFingerprint);
#pragma warning restore IDE1006
}
