using Amazon.Runtime;

namespace Coffre.Storage;

/// <summary>
/// The body of an S3 GET as a plain stream. The SDK reports some failures of the body itself (a checksum it checks
/// at the end, for one) as <see cref="AmazonClientException"/> from <c>Read</c>, which no stream consumer expects:
/// they become <see cref="IOException"/>, as a connection reset mid-body already is, so callers treat them as the
/// transient read failure they are (a backend serving an object while another client rewrites it, for one).
/// </summary>
internal sealed class S3BodyStream(Stream inner, string backend, string key) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => inner.Length;
    public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        try
        {
            return inner.Read(buffer);
        }
        catch (AmazonClientException e)
        {
            throw Failure(e);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonClientException e)
        {
            throw Failure(e);
        }
    }

    private IOException Failure(AmazonClientException e) =>
        new($"S3 backend '{backend}': reading the body of {BlobKeys.ForDisplay(key)} failed: {e.Message}", e);

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
