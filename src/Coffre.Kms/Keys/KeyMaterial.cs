using System.Security.Cryptography;

namespace Coffre.Kms.Keys;

/// <summary>
/// The unwrapped material of one key version, in a pinned array, cached for the snapshot it was unwrapped in.
/// When the snapshot is replaced (any key-state change) its material is retired: zeroed at once if no operation
/// is using it, otherwise when the last one ends. Zeroing it under a running operation instead would let that
/// operation wrap or encrypt with an all-zero key, which anyone can undo.
/// </summary>
internal sealed class KeyMaterial
{
    private const int RetiredFlag = 1 << 30;
    private readonly byte[] _bytes;
    private int _state; // number of leases, plus RetiredFlag once retired

    public KeyMaterial(byte[] pinnedBytes) => _bytes = pinnedBytes;

    /// <summary>A lease on the material, or null when it was retired meanwhile (the caller unwraps afresh).</summary>
    public Lease? TryAcquire()
    {
        while (true)
        {
            var state = Volatile.Read(ref _state);
            if ((state & RetiredFlag) != 0) return null;
            if (Interlocked.CompareExchange(ref _state, state + 1, state) == state) return new Lease(this);
        }
    }

    /// <summary>No new lease; the bytes are zeroed when the last lease ends (now, if none is held).</summary>
    public void Retire()
    {
        var before = Interlocked.Or(ref _state, RetiredFlag);
        if (before == 0) CryptographicOperations.ZeroMemory(_bytes);
    }

    internal bool IsZeroedForTests => _bytes.AsSpan().IndexOfAnyExcept((byte)0) < 0;

    private void Release()
    {
        if (Interlocked.Decrement(ref _state) == RetiredFlag) CryptographicOperations.ZeroMemory(_bytes);
    }

    /// <summary>Use of the material for one operation; dispose it when the operation no longer needs the bytes.</summary>
    public sealed class Lease(KeyMaterial material) : IDisposable
    {
        private KeyMaterial? _material = material;

        public byte[] Bytes => (_material ?? throw new ObjectDisposedException(nameof(Lease)))._bytes;

        public void Dispose() => Interlocked.Exchange(ref _material, null)?.Release();
    }
}
