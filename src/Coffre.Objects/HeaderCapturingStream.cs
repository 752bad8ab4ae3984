using Coffre.Crypto;

namespace Coffre.Objects;

/// <summary>Pass-through read stream that keeps the first <see cref="StreamFormat.HeaderSize"/> bytes (the stream header, for the catalog) and counts the rest.</summary>
internal sealed class HeaderCapturingStream(Stream inner) : Stream
{
    private readonly byte[] _header = new byte[StreamFormat.HeaderSize];

    public byte[] Header => Length >= _header.Length ? _header : throw new InvalidOperationException("The stream header has not been read yet.");
    public override long Length => _read;
    private long _read;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Position { get => _read; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Capture(buffer[..n]);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Capture(buffer.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private void Capture(ReadOnlySpan<byte> data)
    {
        if (_read < _header.Length)
        {
            var take = (int)Math.Min(data.Length, _header.Length - _read);
            data[..take].CopyTo(_header.AsSpan((int)_read));
        }
        _read += data.Length;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
