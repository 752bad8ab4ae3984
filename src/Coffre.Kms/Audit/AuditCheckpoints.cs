using System.Security.Cryptography;
using Coffre.Kms.Keys;

namespace Coffre.Kms.Audit;

/// <summary>Storage of the checkpoint signing key (private half wrapped by the root of trust) and of checkpoints,
/// beside the audit chain they cover (<see cref="IAuditLog.Checkpoints"/>).</summary>
public interface IAuditCheckpointStore
{
    (byte[] PublicKey, byte[] WrappedPrivateKey)? GetSigningKey();

    /// <summary>Stores the signing key unless one exists; returns the one in force.</summary>
    (byte[] PublicKey, byte[] WrappedPrivateKey) SetSigningKeyIfAbsent(byte[] publicKey, byte[] wrappedPrivateKey);

    /// <summary>Replaces the wrapped private half of the signing key whose public half is <paramref name="publicKey"/> (a root
    /// migration rewraps it under the new root); the key itself, and so every checkpoint's signature, is unchanged.</summary>
    void ReplaceWrappedPrivateKey(byte[] publicKey, byte[] wrappedPrivateKey);

    /// <summary>Appends a chained checkpoint; throws when its number is already taken (another writer signed first).</summary>
    void Add(AuditCheckpoint checkpoint);

    /// <summary>The newest checkpoint: the chain's last, else the newest unchained one, else null.</summary>
    AuditCheckpoint? Newest();

    /// <summary>Chained checkpoint number <paramref name="number"/>, or null.</summary>
    AuditCheckpoint? Chained(long number);

    /// <summary>Every checkpoint: the unchained ones by record, then the chain by number.</summary>
    IReadOnlyList<AuditCheckpoint> List();
}

/// <summary>
/// Periodic signed checkpoints of the audit hash chain (docs/format.md §9). The chain alone shows
/// an edit, a deletion, an insertion or a reordering; it cannot show that its newest records were
/// cut off, nor stop someone with write access from recomputing every hash after an edit. A
/// checkpoint, signed with an ECDSA P-256 key whose private half is sealed by the root of trust,
/// pins a record's hash: removing or rewriting anything up to it is detected. Checkpoints are
/// chained to each other, so one removed or replaced in the middle is detected too; the newest ones
/// can only be missed if they are also published outside keys.db (<see cref="AuditCheckpointPublisher"/>,
/// <see cref="PublishedCheckpointCheck"/>).
/// </summary>
public sealed class AuditCheckpointer(KeyManager keys, IAuditLog audit, TimeProvider? time = null)
{
    private readonly IAuditCheckpointStore _store = audit.Checkpoints;
    private static readonly byte[] KeyAad = "coffre/v1/audit-checkpoint-key"u8.ToArray();
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public IAuditCheckpointStore Store => _store;

    /// <summary>The audit chain the checkpoints cover.</summary>
    public IAuditLog Audit => audit;

    /// <summary>
    /// Signs the next checkpoint of the chain, covering the newest record. It is signed even when no record was
    /// added since the last one: a checkpoint at every interval is what lets an auditor tell a quiet trail from
    /// a signer that was stopped. Returns null only when the trail is empty.
    /// </summary>
    public AuditCheckpoint? Write()
    {
        var last = audit.Head();
        if (last is null) return null;
        using var ecdsa = SigningKey();
        var previous = _store.Newest();
        var unsigned = new AuditCheckpoint(AuditCheckpoint.Chained, previous is { Version: AuditCheckpoint.Chained } ? previous.Number + 1 : 1,
            last.Value.Sequence, last.Value.Hash, previous?.Digest() ?? AuditCheckpoint.Genesis, AuditChain.FormatTime(_time.GetUtcNow()), []);
        var checkpoint = unsigned with { Signature = ecdsa.SignData(unsigned.SignedBytes(), HashAlgorithmName.SHA256) };
        _store.Add(checkpoint);
        return checkpoint;
    }

    /// <summary>The signing key's public half (SubjectPublicKeyInfo DER), or null before the first checkpoint.</summary>
    public byte[]? PublicKey() => _store.GetSigningKey()?.PublicKey;

    /// <summary>SHA-256 of the public key, hex: what an auditor keeps to pin the key.</summary>
    public string? PublicKeyFingerprint() => PublicKey() is { } k ? AuditCheckpoint.Fingerprint(k) : null;

    public string? PublicKeyPem() => PublicKey() is { } k ? PemEncoding.WriteString("PUBLIC KEY", k) : null;

    /// <summary>
    /// Every checkpoint must verify under the public key and match the hash of the record it names, which must exist;
    /// chained checkpoints must be numbered 1, 2, 3... each naming the digest of the one before it (the first: the
    /// newest unchained checkpoint, or none), and cover records in order.
    /// </summary>
    public AuditVerification Verify()
    {
        var checkpoints = _store.List();
        if (checkpoints.Count == 0) return new AuditVerification(true, 0, null, null);
        if (_store.GetSigningKey() is not { } key)
            return new AuditVerification(false, 0, checkpoints[0].Sequence, "checkpoints exist but the checkpoint signing key is missing");
        var checkedCount = 0L;
        AuditCheckpoint? before = null;
        foreach (var c in checkpoints)
        {
            if (!c.VerifySignature(key.PublicKey))
                return Broken(c, $"{c.Label} (record #{c.Sequence}) has an invalid signature (forged or modified checkpoint, or the signing key was replaced)");
            if (c.Version == AuditCheckpoint.Chained && c.ChainBreak(before) is { } chainBreak) return Broken(c, chainBreak);
            var hash = audit.RecordHash(c.Sequence);
            if (hash is null)
                return Broken(c, $"record #{c.Sequence}, covered by {c.Label}, is missing (the trail was truncated)");
            if (!CryptographicOperations.FixedTimeEquals(hash, c.Hash))
                return Broken(c, $"record #{c.Sequence} differs from the one {c.Label} covers (the trail was rewritten)");
            before = c;
            checkedCount++;
        }
        return new AuditVerification(true, checkedCount, null, null);

        AuditVerification Broken(AuditCheckpoint c, string reason) => new(false, checkedCount, c.Sequence, reason);
    }

    /// <summary>Whether a signing key exists and is not wrapped under a migration's new root yet.</summary>
    public bool SigningKeyNeedsRewrap() => _store.GetSigningKey() is { } key && keys.NeedsRewrap(key.WrappedPrivateKey, KeyAad);

    /// <summary>
    /// During a root migration, rewraps the signing key's private half under the new root (the key pair, and so every
    /// checkpoint and every auditor's pinned fingerprint, stays). Returns false when there is no signing key yet or it
    /// was already rewrapped.
    /// </summary>
    public bool RewrapSigningKeyUnderNewRoot()
    {
        if (!SigningKeyNeedsRewrap() || _store.GetSigningKey() is not { } key) return false;
        var d = new byte[32];
        try
        {
            keys.UnwrapWithRoot(key.WrappedPrivateKey, KeyAad, d);
            _store.ReplaceWrappedPrivateKey(key.PublicKey, keys.WrapWithRoot(d, KeyAad));
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(d);
        }
    }

    private ECDsa SigningKey()
    {
        var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        if (_store.GetSigningKey() is not { } key)
        {
            var parameters = ecdsa.ExportParameters(includePrivateParameters: true);
            var wrapped = keys.WrapWithRoot(parameters.D, KeyAad);
            CryptographicOperations.ZeroMemory(parameters.D);
            key = _store.SetSigningKeyIfAbsent(ecdsa.ExportSubjectPublicKeyInfo(), wrapped);
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
}
