using System.Security.Cryptography;

namespace Coffre.Kms.Root;

/// <summary>Where an unseal stands: the root's kind, how many parts it needs, how many are in.</summary>
public sealed record UnsealProgress(RootKind Kind, int Needed, int Shares, int Submitted);

/// <summary>
/// Collects what opens the data directory's root seal, one part at a time (a Shamir share, the passphrase, or an HSM's PIN), from
/// officers at different terminals or a script, and opens the root once enough are in (docs/operations.md, "Sealing
/// and unsealing"). Shares are checked one by one against the seal's digests, so a wrong, tampered or duplicated share
/// is refused as it arrives, naming nothing of the others; any refusal discards every share collected so far (an
/// attempt that fails starts over). Failures are limited to <see cref="MaximumFailures"/> per <see cref="FailureWindow"/>:
/// a passphrase can be guessed, and each guess costs a PBKDF2 derivation. Thread-safe; one submission at a time.
/// </summary>
public sealed class RootUnsealer(string sealPath, SealOptions options, TimeProvider time) : IDisposable
{
    public const int MaximumFailures = 5;
    public static readonly TimeSpan FailureWindow = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private readonly List<UnsealShare> _shares = [];
    private readonly Queue<DateTimeOffset> _failures = new();

    /// <summary>The progress of the current attempt (reads the seal file, so it follows a rekey).</summary>
    public UnsealProgress Progress()
    {
        var seal = RootSealFile.Read(sealPath, options);
        lock (_lock) return new UnsealProgress(seal.Kind, seal.Needed, seal.Kind == RootKind.Shamir ? seal.ShareDigests.Count : 1, _shares.Count);
    }

    /// <summary>
    /// Adds one part: a share of a Shamir seal, or the passphrase of a passphrase seal. Returns the opened root once the
    /// last part needed is in (the caller owns it), else null with <paramref name="progress"/> telling how many are in.
    /// </summary>
    /// <exception cref="KmsException"><see cref="KmsError.InvalidShare"/> or <see cref="KmsError.WrongPassphrase"/> (the
    /// attempt restarts), <see cref="KmsError.TooManyAttempts"/> (nothing was tried).</exception>
    public IRootOfTrust? Submit(string part, out UnsealProgress progress)
    {
        lock (_lock)
        {
            var now = time.GetUtcNow();
            while (_failures.Count > 0 && now - _failures.Peek() >= FailureWindow) _failures.Dequeue();
            if (_failures.Count >= MaximumFailures)
                throw new KmsException(KmsError.TooManyAttempts,
                    $"{MaximumFailures} unseal attempts failed within {FailureWindow.TotalSeconds:0} s; wait {Math.Ceiling((FailureWindow - (now - _failures.Peek())).TotalSeconds):0} s before the next.");
            var seal = RootSealFile.Read(sealPath, options);
            try
            {
                var root = seal.Kind switch
                {
                    RootKind.Passphrase => SealedFileRoot.Unseal(sealPath, part, options),
                    RootKind.Pkcs11 => Pkcs11Root.Open(seal.DeploymentId, seal.Module!, seal.TokenLabel!, seal.KeyLabel!, part),
                    _ => AddShare(seal, part),
                };
                progress = new UnsealProgress(seal.Kind, seal.Needed, seal.Kind == RootKind.Shamir ? seal.ShareDigests.Count : 1,
                    root is null ? _shares.Count : seal.Needed);
                if (root is not null) ResetLocked();
                return root;
            }
            catch (KmsException e) when (e.Error is KmsError.InvalidShare or KmsError.WrongPassphrase)
            {
                _failures.Enqueue(now);
                ResetLocked();
                throw;
            }
        }
    }

    /// <summary>Discards the shares submitted so far.</summary>
    public void Reset()
    {
        lock (_lock) ResetLocked();
    }

    private IRootOfTrust? AddShare(RootSealFile seal, string text)
    {
        var share = UnsealShare.Decode(text);
        try
        {
            if (share.Threshold != seal.Threshold || share.Index > seal.ShareDigests.Count)
                throw UnsealShare.Invalid($"it is share {share.Index} of a {share.Threshold}-of-n seal, and this seal is {seal.Threshold} of {seal.ShareDigests.Count}");
            if (!CryptographicOperations.FixedTimeEquals(UnsealShare.Digest(seal.DeploymentId, share.Index, share.Value), seal.ShareDigests[share.Index - 1]))
                throw UnsealShare.Invalid($"it is not share {share.Index} of this seal (tampered with, from an older seal, or of another deployment)");
            if (_shares.Any(s => s.Index == share.Index))
                throw UnsealShare.Invalid($"share {share.Index} was already submitted in this attempt");
        }
        catch
        {
            share.Dispose();
            throw;
        }
        _shares.Add(share);
        return _shares.Count < seal.Threshold ? null : SealedFileRoot.UnsealShamir(sealPath, seal, _shares);
    }

    private void ResetLocked()
    {
        foreach (var s in _shares) s.Dispose();
        _shares.Clear();
    }

    public void Dispose() => Reset();
}
