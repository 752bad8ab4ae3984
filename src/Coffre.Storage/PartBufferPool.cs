using System.Collections.Concurrent;

namespace Coffre.Storage;

/// <summary>
/// The part buffers of one S3 backend: at most <c>count</c> of <c>size</c> bytes ever exist, reused, so the memory that
/// uploads to the backend hold is bounded by configuration (<see cref="S3BlobStoreOptions.PartBuffers"/>) whatever
/// clients do; an upload waits for a free buffer. (The shared <see cref="System.Buffers.ArrayPool{T}"/> keeps one
/// array per size and thread: with part-sized arrays the gateway's resident memory grew with its thread count, to
/// 307 MiB under rclone's four parallel 16 MiB parts, docs/benchmarks.md.)
/// </summary>
internal sealed class PartBufferPool(int count, int size)
{
    private readonly SemaphoreSlim _slots = new(count, count);
    private readonly ConcurrentStack<byte[]> _idle = new();

    public int Size => size;

    /// <summary>A buffer of <see cref="Size"/> bytes, or null if none came free within <paramref name="wait"/>.</summary>
    public async Task<byte[]?> RentAsync(TimeSpan wait, CancellationToken ct)
    {
        if (!await _slots.WaitAsync(wait, ct).ConfigureAwait(false)) return null;
        return _idle.TryPop(out var buffer) ? buffer : GC.AllocateUninitializedArray<byte>(size);
    }

    public void Return(byte[] buffer)
    {
        _idle.Push(buffer);
        _slots.Release();
    }
}
