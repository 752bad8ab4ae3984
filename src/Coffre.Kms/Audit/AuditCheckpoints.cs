using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Coffre.Kms.Keys;

namespace Coffre.Kms.Audit;

/// <summary>A signed statement "the audit trail's record #Sequence has hash Hash", made at Time.</summary>
public sealed record AuditCheckpoint(long Sequence, byte[] Hash, string TimeText, byte[] Signature);

/// <summary>Storage of the checkpoint signing key (private half wrapped by the root of trust) and of checkpoints.</summary>
public interface IAuditCheckpointStore
{
    (byte[] PublicKey, byte[] WrappedPrivateKey)? GetSigningKey();

    /// <summary>Stores the signing key unless one exists; returns the one in force.</summary>
    (byte[] PublicKey, byte[] WrappedPrivateKey) SetSigningKeyIfAbsent(byte[] publicKey, byte[] wrappedPrivateKey);

    /// <summary>Sequence number and hash of the newest audit record, or null when the trail is empty.</summary>
    (long Sequence, byte[] Hash)? LastRecord();

    /// <summary>Hash of record <paramref name="sequence"/>, or null when there is no such record.</summary>
    byte[]? RecordHash(long sequence);

    void Add(AuditCheckpoint checkpoint);
    IReadOnlyList<AuditCheckpoint> List();
}

/// <summary>
/// Periodic signed checkpoints of the audit hash chain (docs/format.md §9). The chain alone shows
/// an edit, a deletion, an insertion or a reordering; it cannot show that its newest records were
/// cut off, nor stop someone with write access from recomputing every hash after an edit. A
/// checkpoint, signed with an ECDSA P-256 key whose private half is sealed by the root of trust,
/// pins a record's hash: removing or rewriting anything up to it is detected. Give auditors the
/// public key's fingerprint so they can check that the key itself was not replaced.
/// </summary>
public sealed class AuditCheckpointer(KeyManager keys, IAuditCheckpointStore store, TimeProvider? time = null)
{
    private static readonly byte[] KeyAad = "coffre/v1/audit-checkpoint-key"u8.ToArray();
    private static ReadOnlySpan<byte> Label => "coffre/v1/audit-checkpoint\0"u8;
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Signs a checkpoint of the newest record, unless it is already checkpointed. Returns it, or null when there was nothing new.</summary>
    public AuditCheckpoint? Write()
    {
        var last = store.LastRecord();
        if (last is null) return null;
        var existing = store.List();
        if (existing.Count > 0 && existing[^1].Sequence >= last.Value.Sequence) return null;
        using var ecdsa = SigningKey();
        var timeText = AuditChain.FormatTime(_time.GetUtcNow());
        var signature = ecdsa.SignData(SignedBytes(last.Value.Sequence, last.Value.Hash, timeText), HashAlgorithmName.SHA256);
        var checkpoint = new AuditCheckpoint(last.Value.Sequence, last.Value.Hash, timeText, signature);
        store.Add(checkpoint);
        return checkpoint;
    }

    /// <summary>SHA-256 of the public key (SubjectPublicKeyInfo DER), hex: what an auditor keeps to pin the key.</summary>
    public string? PublicKeyFingerprint() =>
        store.GetSigningKey() is { } k ? Convert.ToHexStringLower(SHA256.HashData(k.PublicKey)) : null;

    public string? PublicKeyPem() =>
        store.GetSigningKey() is { } k ? PemEncoding.WriteString("PUBLIC KEY", k.PublicKey) : null;

    /// <summary>Every checkpoint must verify under the public key and match the hash of the record it names, which must exist.</summary>
    public AuditVerification Verify()
    {
        var checkpoints = store.List();
        if (checkpoints.Count == 0) return new AuditVerification(true, 0, null, null);
        if (store.GetSigningKey() is not { } key)
            return new AuditVerification(false, 0, checkpoints[0].Sequence, "checkpoints exist but the checkpoint signing key is missing");
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportSubjectPublicKeyInfo(key.PublicKey, out _);
        var checkedCount = 0L;
        foreach (var c in checkpoints)
        {
            if (!ecdsa.VerifyData(SignedBytes(c.Sequence, c.Hash, c.TimeText), c.Signature, HashAlgorithmName.SHA256))
                return new AuditVerification(false, checkedCount, c.Sequence, $"the checkpoint of record #{c.Sequence} has an invalid signature (forged or modified checkpoint)");
            var hash = store.RecordHash(c.Sequence);
            if (hash is null)
                return new AuditVerification(false, checkedCount, c.Sequence, $"record #{c.Sequence}, covered by a signed checkpoint, is missing (the trail was truncated)");
            if (!CryptographicOperations.FixedTimeEquals(hash, c.Hash))
                return new AuditVerification(false, checkedCount, c.Sequence, $"record #{c.Sequence} differs from the one its signed checkpoint covers (the trail was rewritten)");
            checkedCount++;
        }
        return new AuditVerification(true, checkedCount, null, null);
    }

    private ECDsa SigningKey()
    {
        var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        if (store.GetSigningKey() is not { } key)
        {
            var parameters = ecdsa.ExportParameters(includePrivateParameters: true);
            var wrapped = keys.WrapWithRoot(parameters.D, KeyAad);
            CryptographicOperations.ZeroMemory(parameters.D);
            key = store.SetSigningKeyIfAbsent(ecdsa.ExportSubjectPublicKeyInfo(), wrapped);
        }
        var d = new byte[32];
        try
        {
            keys.UnwrapWithRoot(key.WrappedPrivateKey, KeyAad, d);
            using var pub = ECDsa.Create();
            pub.ImportSubjectPublicKeyInfo(key.PublicKey, out _);
            var p = pub.ExportParameters(false);
            ecdsa.ImportParameters(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = p.Q, D = d });
            return ecdsa;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(d);
        }
    }

    /// <summary>"coffre/v1/audit-checkpoint\0" || u64(sequence) || hash (32) || UTF-8 time.</summary>
    public static byte[] SignedBytes(long sequence, byte[] hash, string timeText)
    {
        var time = Encoding.UTF8.GetBytes(timeText);
        var bytes = new byte[Label.Length + 8 + hash.Length + time.Length];
        Label.CopyTo(bytes);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(Label.Length), (ulong)sequence);
        hash.CopyTo(bytes, Label.Length + 8);
        time.CopyTo(bytes, Label.Length + 8 + hash.Length);
        return bytes;
    }
}
