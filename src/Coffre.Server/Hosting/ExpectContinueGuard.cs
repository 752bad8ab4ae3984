using Microsoft.AspNetCore.Http;

namespace Coffre.Server.Hosting;

/// <summary>
/// Closes the connection after a final response to an <c>Expect: 100-continue</c> request for which no
/// <c>100 Continue</c> was sent.
/// </summary>
/// <remarks>
/// Kestrel sends <c>100 Continue</c> when the application first reads a non-empty body. When the response comes
/// first (an error before the body is read, or an empty body: <c>Content-Length: 0</c> has nothing to read), the client
/// has seen an early final response, and keeping the connection open goes wrong in two ways:
/// <list type="bullet">
/// <item>a client that, as RFC 9110 allows, then withholds the body leaves Kestrel waiting for it, so the next request
/// on the connection is taken for the rest of the previous body (and answered 400);</item>
/// <item>botocore (AWS CLI v1 and v2) remembers the early response's status line on the pooled connection until it
/// is closed, and applies it to the next <c>Expect: 100-continue</c> request on that connection: the real status line
/// is then parsed as a header, the response has no length, and the CLI waits 60 s for its read timeout and retries.
/// `aws s3 cp --recursive` of a folder with an empty file hits this on every run.</item>
/// </list>
/// RFC 9110 §10.1.1 asks a server that answers before reading the content to say whether it closes the connection;
/// closing is the one answer every client handles.
/// </remarks>
public static class ExpectContinueGuard
{
    public static void Apply(HttpContext http)
    {
        var expect = http.Request.Headers.Expect;
        if (expect.Count == 0 || !expect.ToString().Contains("100-continue", StringComparison.OrdinalIgnoreCase)) return;
        var body = new ReadTrackingStream(http.Request.Body);
        http.Request.Body = body;
        var emptyBody = http.Request.ContentLength == 0;
        http.Response.OnStarting(() =>
        {
            if (emptyBody || !body.ReadStarted) http.Response.Headers.Connection = "close";
            return Task.CompletedTask;
        });
    }

    /// <summary>Notes whether anything tried to read the body (which is when Kestrel sends 100 Continue).</summary>
    private sealed class ReadTrackingStream(Stream inner) : Stream
    {
        public bool ReadStarted { get; private set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            ReadStarted = true;
            return inner.Read(buffer, offset, count);
        }

        public override int Read(Span<byte> buffer)
        {
            ReadStarted = true;
            return inner.Read(buffer);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            ReadStarted = true;
            return inner.ReadAsync(buffer, offset, count, cancellationToken);
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            ReadStarted = true;
            return inner.ReadAsync(buffer, cancellationToken);
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
