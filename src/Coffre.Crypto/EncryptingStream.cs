using System.Buffers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace Coffre.Crypto;

/// <summary>
/// Read-only, pull-based stream that yields the Coffre v1 ciphertext (header, then segments) of
/// a plaintext source whose length need not be known: the final segment is detected by reading
/// one byte ahead. Reads of at least one sealed segment (S + 16 bytes) are served directly into
/// the caller's buffer; smaller reads go through one pooled buffer. No allocation per segment.
/// </summary>
public sealed class EncryptingStream : Stream
{
    private readonly Stream _source;
    private readonly bool _leaveOpen;
    private readonly SegmentCipher _cipher;
    private readonly byte[] _header;
    private readonly int _segmentSize;
    private byte[]? _buffer;          // S + 16 bytes, pooled
    private int _headerPos;
    private int _outPos;
    private int _outLen;
    private long _segment;
    private bool _done;
    private bool _hasLookahead;
    private byte _lookahead;
    private bool _disposed;
    private Exception? _broken;

    public EncryptingStream(Stream plaintext, ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> associatedData,
        int segmentExponent = StreamFormat.DefaultSegmentExponent, bool leaveOpen = false)
        : this(plaintext, dataKey, associatedData, segmentExponent, leaveOpen, salt: default)
    {
    }

    /// <summary>Test-vector path: an explicit salt (empty = random). A salt must never be reused.</summary>
    internal EncryptingStream(Stream plaintext, ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> associatedData,
        int segmentExponent, bool leaveOpen, ReadOnlySpan<byte> salt)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        if (!plaintext.CanRead) throw new ArgumentException("The plaintext stream must be readable.", nameof(plaintext));
        StreamFormat.CheckExponent(segmentExponent);
        Span<byte> segmentKey = stackalloc byte[StreamFormat.KeySize];
        try
        {
            var header = salt.IsEmpty
                ? StreamHeader.Create(segmentExponent, dataKey, associatedData, segmentKey)
                : StreamHeader.Create(segmentExponent, dataKey, associatedData, salt, segmentKey);
            _header = header.Bytes.ToArray();
            _cipher = new SegmentCipher(segmentKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(segmentKey);
        }
        _source = plaintext;
        _leaveOpen = leaveOpen;
        _segmentSize = 1 << segmentExponent;
        _buffer = ArrayPool<byte>.Shared.Rent(_segmentSize + StreamFormat.TagSize);
    }

    /// <summary>The header this stream starts with.</summary>
    public StreamHeader Header => StreamHeader.Parse(_header);

    public override bool CanRead => !_disposed;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    private int SealedSegmentSize => _segmentSize + StreamFormat.TagSize;

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    public override int ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        return Read(one) == 0 ? -1 : one[0];
    }

    public override int Read(Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ThrowIfBroken();
        if (destination.IsEmpty) return 0;
        if (TryServePending(destination, out int served)) return served;
        if (_done) return 0;

        if (destination.Length >= SealedSegmentSize)
        {
            int total = 0;
            while (!_done && destination.Length - total >= SealedSegmentSize)
            {
                var target = destination[total..];
                try
                {
                    int length = FillPlaintext(target);
                    total += SealSegment(target, length);
                }
                catch (Exception e)
                {
                    target.Clear(); // never leave plaintext in the caller's buffer
                    Break(e);
                    throw;
                }
            }
            return total;
        }

        var buffer = _buffer!;
        try
        {
            _outLen = SealSegment(buffer, FillPlaintext(buffer));
        }
        catch (Exception e)
        {
            Break(e);
            throw;
        }
        _outPos = 0;
        TryServePending(destination, out served);
        return served;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ThrowIfBroken();
        if (destination.IsEmpty) return 0;
        if (TryServePending(destination.Span, out int served)) return served;
        if (_done) return 0;

        if (destination.Length >= SealedSegmentSize)
        {
            int total = 0;
            while (!_done && destination.Length - total >= SealedSegmentSize)
            {
                var target = destination[total..];
                try
                {
                    int length = await FillPlaintextAsync(target, cancellationToken).ConfigureAwait(false);
                    total += SealSegment(target.Span, length);
                }
                catch (Exception e)
                {
                    target.Span.Clear();
                    Break(e);
                    throw;
                }
            }
            return total;
        }

        var buffer = _buffer!;
        try
        {
            int plain = await FillPlaintextAsync(buffer, cancellationToken).ConfigureAwait(false);
            _outLen = SealSegment(buffer, plain);
        }
        catch (Exception e)
        {
            Break(e);
            throw;
        }
        _outPos = 0;
        TryServePending(destination.Span, out served);
        return served;
    }

    /// <summary>
    /// After a failed or cancelled read the plaintext position is lost: continuing would encrypt a
    /// plaintext with bytes missing, so every further read fails.
    /// </summary>
    private void Break(Exception e)
    {
        _broken = e;
        _outPos = _outLen = 0;
    }

    private void ThrowIfBroken()
    {
        if (_broken is not null)
            throw new IOException("An earlier read of this encrypting stream failed; it cannot continue.", _broken);
    }

    /// <summary>Serves the header or the rest of a buffered sealed segment.</summary>
    private bool TryServePending(Span<byte> destination, out int served)
    {
        if (_headerPos < _header.Length)
        {
            served = Math.Min(destination.Length, _header.Length - _headerPos);
            _header.AsSpan(_headerPos, served).CopyTo(destination);
            _headerPos += served;
            return true;
        }
        if (_outPos < _outLen)
        {
            served = Math.Min(destination.Length, _outLen - _outPos);
            _buffer.AsSpan(_outPos, served).CopyTo(destination);
            _outPos += served;
            return true;
        }
        served = 0;
        return false;
    }

    /// <summary>
    /// Reads up to S + 1 plaintext bytes into <paramref name="target"/> (which has room for S + 16):
    /// S bytes for the segment and one to learn whether another segment follows.
    /// </summary>
    private int FillPlaintext(Span<byte> target)
    {
        int want = _segmentSize + 1;
        int n = StartFill(target);
        while (n < want)
        {
            int r = _source.Read(target[n..want]);
            if (r == 0) break;
            n += r;
        }
        return n;
    }

    private async ValueTask<int> FillPlaintextAsync(Memory<byte> target, CancellationToken cancellationToken)
    {
        int want = _segmentSize + 1;
        int n = StartFill(target.Span);
        while (n < want)
        {
            int r = await _source.ReadAsync(target[n..want], cancellationToken).ConfigureAwait(false);
            if (r == 0) break;
            n += r;
        }
        return n;
    }

    private int StartFill(Span<byte> target)
    {
        if (!_hasLookahead) return 0;
        target[0] = _lookahead;
        _hasLookahead = false;
        return 1;
    }

    /// <summary>Seals the segment read by FillPlaintext in place; returns its sealed length.</summary>
    private int SealSegment(Span<byte> target, int filled)
    {
        bool final = filled <= _segmentSize;
        int length = final ? filled : _segmentSize;
        if (!final)
        {
            _lookahead = target[_segmentSize];
            _hasLookahead = true;
        }
        _cipher.Seal(_segment, final, target, length);
        _segment++;
        _done = final;
        return length + StreamFormat.TagSize;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (!_disposed)
        {
            _disposed = true;
            if (disposing)
            {
                _cipher.Dispose();
                var buffer = Interlocked.Exchange(ref _buffer, null);
                if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
                _lookahead = 0;
                if (!_leaveOpen) _source.Dispose();
            }
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            _cipher.Dispose();
            var buffer = Interlocked.Exchange(ref _buffer, null);
            if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
            _lookahead = 0;
            if (!_leaveOpen) await _source.DisposeAsync().ConfigureAwait(false);
        }
        GC.SuppressFinalize(this);
    }
}
