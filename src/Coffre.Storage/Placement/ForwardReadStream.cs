namespace Coffre.Storage.Placement;

/// <summary>
/// A blob body read forward once, of a known length: the <see cref="Stream"/> members that every such body answers the
/// same way (no seeking, no writing, synchronous reads over the asynchronous one), so that a subclass writes only how
/// it reads. <see cref="Delivered"/> counts the bytes handed out: the position.
/// </summary>
internal abstract class ForwardReadStream(long length) : Stream
{
    protected long Delivered { get; set; }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => Delivered; set => throw new NotSupportedException(); }

    public abstract override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // Synchronous reads come from callers that are not on a request path (request paths read asynchronously).
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
