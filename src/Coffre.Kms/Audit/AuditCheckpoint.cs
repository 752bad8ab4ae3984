using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Coffre.Kms.Audit;

/// <summary>
/// A signed statement (docs/format.md §9): "checkpoint #Number: the audit trail's record #Sequence has hash Hash, at
/// Time; the checkpoint before me has digest Previous". Chaining is what makes a checkpoint removed from the middle,
/// or replaced, visible. Version 1 checkpoints, signed before checkpoints were chained, have Number 0 and no Previous;
/// they are still verified, and the first chained checkpoint names the newest of them as its previous.
/// </summary>
public sealed record AuditCheckpoint(int Version, long Number, long Sequence, byte[] Hash, byte[] Previous, string TimeText, byte[] Signature)
{
    public const int Unchained = 1;
    public const int Chained = 2;

    private static ReadOnlySpan<byte> LabelV1 => "coffre/v1/audit-checkpoint\0"u8;
    private static ReadOnlySpan<byte> LabelV2 => "coffre/v2/audit-checkpoint\0"u8;

    /// <summary>What the first chained checkpoint names as its previous one when no checkpoint came before it: 32 zero bytes.</summary>
    public static byte[] Genesis => new byte[32];

    /// <summary>
    /// v1: "coffre/v1/audit-checkpoint\0" || u64(seq) || hash || utf8(time);
    /// v2: "coffre/v2/audit-checkpoint\0" || u64(number) || u64(seq) || hash || previous || utf8(time).
    /// </summary>
    public byte[] SignedBytes()
    {
        var label = Version == Unchained ? LabelV1 : LabelV2;
        var time = Encoding.UTF8.GetBytes(TimeText);
        var chained = Version == Unchained ? 0 : 8 + Previous.Length;
        var bytes = new byte[label.Length + chained + 8 + Hash.Length + time.Length];
        var span = bytes.AsSpan();
        label.CopyTo(span);
        var at = label.Length;
        if (Version != Unchained)
        {
            BinaryPrimitives.WriteUInt64BigEndian(span[at..], (ulong)Number);
            at += 8;
        }
        BinaryPrimitives.WriteUInt64BigEndian(span[at..], (ulong)Sequence);
        at += 8;
        Hash.CopyTo(span[at..]);
        at += Hash.Length;
        if (Version != Unchained)
        {
            Previous.CopyTo(span[at..]);
            at += Previous.Length;
        }
        time.CopyTo(span[at..]);
        return bytes;
    }

    /// <summary>SHA-256 of the signed bytes: what the next checkpoint names as its previous one.</summary>
    public byte[] Digest() => SHA256.HashData(SignedBytes());

    /// <summary>
    /// Why this chained checkpoint cannot come right after <paramref name="before"/> (null: nothing before it), or null
    /// when it can: numbers run 1, 2, 3..., each names the digest of the one before, and records never go backwards.
    /// </summary>
    public string? ChainBreak(AuditCheckpoint? before)
    {
        var expectedNumber = before is { Version: Chained } ? before.Number + 1 : 1;
        if (Number != expectedNumber)
            return $"{Label} follows {before?.Label ?? "nothing"}: checkpoint #{expectedNumber} is missing (removed)";
        if (!CryptographicOperations.FixedTimeEquals(Previous, before?.Digest() ?? Genesis))
            return $"{Label} does not follow {before?.Label ?? "nothing"}: a checkpoint between them was removed or replaced";
        if (before is not null && Sequence < before.Sequence)
            return $"{Label} covers record #{Sequence}, older than the record #{before.Sequence} of {before.Label}";
        return null;
    }

    public bool VerifySignature(byte[] publicKey)
    {
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportSubjectPublicKeyInfo(publicKey, out _);
        return ecdsa.VerifyData(SignedBytes(), Signature, HashAlgorithmName.SHA256);
    }

    public DateTimeOffset Time => DateTimeOffset.Parse(TimeText, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

    /// <summary>How findings and logs name it: "checkpoint #12" (chained) or "checkpoint of record #40" (unchained).</summary>
    public string Label => Version == Unchained ? $"the unchained checkpoint of record #{Sequence}" : $"checkpoint #{Number}";

    /// <summary>SHA-256 of a public key (SubjectPublicKeyInfo DER), lower-case hex: what an auditor keeps to pin the key.</summary>
    public static string Fingerprint(byte[] publicKey) => Convert.ToHexStringLower(SHA256.HashData(publicKey));
}
