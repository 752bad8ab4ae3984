using System.Security.Cryptography;

namespace Coffre.Server.Signing;

/// <summary>
/// Read-only pass-through that hashes the body and, at EOF, throws <see cref="SigV4Exception"/>
/// (<see cref="SigV4Error.XAmzContentSHA256Mismatch"/>) when it does not match x-amz-content-sha256.
/// Consumers must not commit data until Read has returned 0.
/// </summary>
public sealed class PayloadHashVerifyingStream : Stream
{
    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private readonly byte[] _expected;
    private IncrementalHash? _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _read;
    private bool _done;
    private SigV4Exception? _fault;

    public PayloadHashVerifyingStream(Stream inner, string expectedSha256Hex, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (expectedSha256Hex is null || !SigV4Canonicalizer.IsHex(expectedSha256Hex, 64))
            throw new ArgumentException("Expected hash must be 64 hex characters.", nameof(expectedSha256Hex));
        _inner = inner;
        _leaveOpen = leaveOpen;
        _expected = Convert.FromHexString(expectedSha256Hex);
    }

    /// <summary>True once EOF was reached and the hash matched.</summary>
    public bool IsVerified => _done && _fault is null;

    public override bool CanRead => _sha is not null;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _read; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    public override int Read(Span<byte> buffer)
    {
        if (!Begin(buffer.Length, out var r))
            return r;
        return Account(buffer, _inner.Read(buffer));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!Begin(buffer.Length, out var r))
            return r;
        var n = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Account(buffer.Span, n);
    }

    private bool Begin(int length, out int result)
    {
        ObjectDisposedException.ThrowIf(_sha is null, this);
        if (_fault is not null)
            throw _fault;
        result = 0;
        return !_done && length > 0;
    }

    private int Account(ReadOnlySpan<byte> buffer, int n)
    {
        if (n > 0)
        {
            _sha!.AppendData(buffer[..n]);
            _read += n;
            return n;
        }
        Span<byte> hash = stackalloc byte[32];
        _sha!.GetHashAndReset(hash);
        _done = true;
        if (!CryptographicOperations.FixedTimeEquals(hash, _expected))
        {
            _fault = new SigV4Exception(SigV4Error.XAmzContentSHA256Mismatch,
                "The provided 'x-amz-content-sha256' header does not match what was computed.");
            throw _fault;
        }
        return 0;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _sha is not null)
        {
            _sha.Dispose();
            _sha = null;
            if (!_leaveOpen)
                _inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
