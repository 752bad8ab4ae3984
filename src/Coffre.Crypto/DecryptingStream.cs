using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;

namespace Coffre.Crypto;

/// <summary>
/// Read-only, pull-based stream that verifies and decrypts a Coffre v1 stream.
/// <para>Sequential mode (constructor): reads the header, checks the key commitment before
/// anything else, then each segment; the final segment is detected by reading one byte ahead, so
/// a stream cut at a segment boundary, cut inside a segment, or extended fails.</para>
/// <para>Range mode (<see cref="ForRange"/>): decrypts only the segments that hold a plaintext
/// range, sealing segment n − 1 as final, and yields exactly the requested bytes.</para>
/// No plaintext of a segment is released before its tag verified. After a failure every further
/// read throws the same <see cref="AuthenticationFailedException"/>.
/// </summary>
public sealed class DecryptingStream : Stream
{
    private readonly Stream _source;
    private readonly bool _leaveOpen;
    private readonly bool _rangeMode;

    // Sequential mode: key material kept only until the header is verified.
    private byte[]? _dataKey;
    private byte[]? _associatedData;

    private SegmentCipher? _cipher;
    private int _segmentSize;
    private byte[]? _buffer;          // sequential: S + 17 (sealed segment + 1 read-ahead byte); range: S + 16
    private int _outPos;
    private int _outLen;
    private long _segment;
    private bool _isFinal;            // of the segment just gathered
    private bool _done;
    private bool _hasCarry;
    private byte _carry;
    private ExceptionDispatchInfo? _failure;
    private bool _disposed;

    // Range mode.
    private long _lastSegment;        // last segment to read
    private long _finalSegment;       // n − 1 of the whole stream
    private int _finalSealedLength;   // sealed length of segment n − 1
    private int _skip;                // plaintext bytes to drop from the next segment
    private long _remaining;          // plaintext bytes still to return (sequential: long.MaxValue)

    /// <summary>Sequential mode over a whole stream (header first).</summary>
    public DecryptingStream(Stream ciphertext, ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> associatedData, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(ciphertext);
        if (!ciphertext.CanRead) throw new ArgumentException("The ciphertext stream must be readable.", nameof(ciphertext));
        if (dataKey.Length != StreamFormat.KeySize) throw new ArgumentException("A data key is 32 bytes.", nameof(dataKey));
        _source = ciphertext;
        _leaveOpen = leaveOpen;
        _dataKey = GC.AllocateUninitializedArray<byte>(StreamFormat.KeySize, pinned: true); // not moved (copied) by the GC
        dataKey.CopyTo(_dataKey);
        _associatedData = associatedData.ToArray();
        _remaining = long.MaxValue;
    }

    private DecryptingStream(Stream segments, bool leaveOpen, StreamHeader header, ReadOnlySpan<byte> segmentKey, SegmentRange plan, long ciphertextLength)
    {
        _source = segments;
        _leaveOpen = leaveOpen;
        _rangeMode = true;
        _segmentSize = header.SegmentSize;
        _cipher = new SegmentCipher(segmentKey);
        _segment = plan.FirstSegment;
        _lastSegment = plan.LastSegment;
        _finalSegment = plan.TotalSegments - 1;
        _finalSealedLength = (int)(ciphertextLength - StreamFormat.SegmentOffset(_finalSegment, header.SegmentExponent));
        _skip = plan.SkipBytes;
        _remaining = plan.PlaintextLength;
        _done = plan.SegmentCount == 0;
        if (!_done) _buffer = ArrayPool<byte>.Shared.Rent(_segmentSize + StreamFormat.TagSize);
    }

    /// <summary>
    /// Range mode: decrypts plaintext bytes [<paramref name="start"/>, <paramref name="endExclusive"/>)
    /// of a stream of <paramref name="ciphertextLength"/> bytes whose header is <paramref name="header"/>.
    /// <paramref name="segments"/> must yield exactly the ciphertext bytes
    /// [<see cref="SegmentRange.CiphertextOffset"/>, + <see cref="SegmentRange.CiphertextLength"/>)
    /// of <see cref="StreamFormat.PlanRange"/>. The header (commitment) is verified here, before
    /// any read; only the planned segments are read and authenticated.
    /// </summary>
    public static DecryptingStream ForRange(Stream segments, ReadOnlySpan<byte> header, long ciphertextLength,
        ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> associatedData, long start, long endExclusive, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(segments);
        var parsed = StreamHeader.Parse(header);
        Span<byte> segmentKey = stackalloc byte[StreamFormat.KeySize];
        try
        {
            parsed.DeriveSegmentKey(dataKey, associatedData, segmentKey);
            var plan = StreamFormat.PlanRange(ciphertextLength, parsed.SegmentExponent, start, endExclusive);
            return new DecryptingStream(segments, leaveOpen, parsed, segmentKey, plan, ciphertextLength);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(segmentKey);
        }
    }

    public override bool CanRead => !_disposed;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

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
        _failure?.Throw();
        if (destination.IsEmpty) return 0;
        if (TryServePending(destination, out int served)) return served;
        if (_done) return 0;
        try
        {
            if (_cipher is null) ReadHeader();
            int total = 0;
            while (!_done && CanOpenDirectly(destination.Length - total))
            {
                int sealedLength = FillSegment();
                total += OpenDirect(destination[total..], sealedLength);
            }
            if (total > 0 || _done) return total;

            int sealedLen = FillSegment();
            OpenBuffered(sealedLen);
            TryServePending(destination, out served);
            return served;
        }
        catch (Exception e)
        {
            Fail(e);
            throw;
        }
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
        _failure?.Throw();
        if (destination.IsEmpty) return 0;
        if (TryServePending(destination.Span, out int served)) return served;
        if (_done) return 0;
        try
        {
            if (_cipher is null) await ReadHeaderAsync(cancellationToken).ConfigureAwait(false);
            int total = 0;
            while (!_done && CanOpenDirectly(destination.Length - total))
            {
                int sealedLength = await FillSegmentAsync(cancellationToken).ConfigureAwait(false);
                total += OpenDirect(destination.Span[total..], sealedLength);
            }
            if (total > 0 || _done) return total;

            int sealedLen = await FillSegmentAsync(cancellationToken).ConfigureAwait(false);
            OpenBuffered(sealedLen);
            TryServePending(destination.Span, out served);
            return served;
        }
        catch (Exception e)
        {
            Fail(e);
            throw;
        }
    }

    /// <summary>Makes every later read throw: an authentication failure as itself; any other failure (the
    /// source failed, or a read was cancelled mid-segment) as an IOException, since the position in the
    /// stream is lost.</summary>
    private void Fail(Exception e)
    {
        _failure = ExceptionDispatchInfo.Capture(e is AuthenticationFailedException
            ? e
            : new IOException("An earlier read of this decrypting stream failed; it cannot continue.", e));
        _outPos = _outLen = 0;
        if (_buffer is not null) Array.Clear(_buffer);
    }

    // ---- header (sequential mode) ----

    private void ReadHeader()
    {
        Span<byte> header = stackalloc byte[StreamFormat.HeaderSize];
        int n = 0;
        while (n < header.Length)
        {
            int r = _source.Read(header[n..]);
            if (r == 0) break;
            n += r;
        }
        AcceptHeader(header, n);
    }

    private async ValueTask ReadHeaderAsync(CancellationToken cancellationToken)
    {
        var header = new byte[StreamFormat.HeaderSize]; // once per stream
        int n = 0;
        while (n < header.Length)
        {
            int r = await _source.ReadAsync(header.AsMemory(n), cancellationToken).ConfigureAwait(false);
            if (r == 0) break;
            n += r;
        }
        AcceptHeader(header, n);
    }

    private void AcceptHeader(ReadOnlySpan<byte> header, int filled)
    {
        if (filled < StreamFormat.HeaderSize)
            throw AuthenticationFailedException.AtHeader(filled == 0 ? "the stream is empty" : $"the stream ends after {filled} bytes, inside the header");
        var parsed = StreamHeader.Parse(header);
        Span<byte> segmentKey = stackalloc byte[StreamFormat.KeySize];
        try
        {
            parsed.DeriveSegmentKey(_dataKey, _associatedData, segmentKey);
            _cipher = new SegmentCipher(segmentKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(segmentKey);
            ForgetKey();
        }
        _segmentSize = parsed.SegmentSize;
        _buffer = ArrayPool<byte>.Shared.Rent(_segmentSize + StreamFormat.TagSize + 1);
    }

    private void ForgetKey()
    {
        if (_dataKey is not null) CryptographicOperations.ZeroMemory(_dataKey);
        _dataKey = null;
        _associatedData = null;
    }

    // ---- segments ----

    /// <summary>How many ciphertext bytes to gather for the next segment.</summary>
    private int FillTarget => _rangeMode
        ? (_segment == _finalSegment ? _finalSealedLength : _segmentSize + StreamFormat.TagSize)
        : _segmentSize + StreamFormat.TagSize + 1;

    private int FillSegment()
    {
        var buffer = _buffer!;
        int want = FillTarget;
        int n = StartFill(buffer);
        while (n < want)
        {
            int r = _source.Read(buffer, n, want - n);
            if (r == 0) break;
            n += r;
        }
        return Classify(n);
    }

    private async ValueTask<int> FillSegmentAsync(CancellationToken cancellationToken)
    {
        var buffer = _buffer!;
        int want = FillTarget;
        int n = StartFill(buffer);
        while (n < want)
        {
            int r = await _source.ReadAsync(buffer.AsMemory(n, want - n), cancellationToken).ConfigureAwait(false);
            if (r == 0) break;
            n += r;
        }
        return Classify(n);
    }

    private int StartFill(byte[] buffer)
    {
        if (!_hasCarry) return 0;
        buffer[0] = _carry;
        _hasCarry = false;
        return 1;
    }

    /// <summary>
    /// Decides, from the bytes gathered, the sealed length of the current segment and whether it
    /// is final; rejects impossible lengths. Returns the sealed length.
    /// </summary>
    private int Classify(int filled)
    {
        int sealedSize = _segmentSize + StreamFormat.TagSize;
        if (_rangeMode)
        {
            if (filled < FillTarget)
                throw AuthenticationFailedException.AtSegment(_segment, $"the ciphertext source ended after {filled} of the segment's {FillTarget} bytes");
            _isFinal = _segment == _finalSegment;
            return filled;
        }
        if (filled > sealedSize)
        {
            _carry = _buffer![sealedSize];
            _hasCarry = true;
            _isFinal = false;
            return sealedSize;
        }
        if (filled == 0)
            throw AuthenticationFailedException.AtSegment(_segment, "the stream ends before this segment (no final segment)");
        if (filled < StreamFormat.TagSize)
            throw AuthenticationFailedException.AtSegment(_segment, $"the stream ends {filled} bytes into this segment, too short for a tag");
        if (filled == StreamFormat.TagSize && _segment > 0)
            throw AuthenticationFailedException.AtSegment(_segment, "an empty final segment may only follow the header");
        _isFinal = true;
        return filled;
    }

    /// <summary>Direct decryption into the caller's buffer: whole segments wanted, room for a full segment.</summary>
    private bool CanOpenDirectly(int room) =>
        room >= _segmentSize && _skip == 0 && _remaining >= _segmentSize;

    private int OpenDirect(Span<byte> destination, int sealedLength)
    {
        var sealedSegment = _buffer.AsSpan(0, sealedLength);
        int plainLength = sealedLength - StreamFormat.TagSize;
        // AesGcm.Decrypt verifies the tag and clears the destination if it does not verify.
        _cipher!.Open(_segment, _isFinal, sealedSegment, destination);
        Advance();
        _remaining -= plainLength;
        return plainLength;
    }

    private void OpenBuffered(int sealedLength)
    {
        var buffer = _buffer!;
        int plainLength = sealedLength - StreamFormat.TagSize;
        _cipher!.Open(_segment, _isFinal, buffer.AsSpan(0, sealedLength), buffer); // in place
        Advance();
        int skip = Math.Min(_skip, plainLength);
        _skip -= skip;
        int keep = (int)Math.Min(plainLength - skip, _remaining);
        _remaining -= keep;
        _outPos = skip;
        _outLen = skip + keep;
    }

    private void Advance()
    {
        if (_isFinal || (_rangeMode && _segment == _lastSegment)) _done = true;
        _segment++;
    }

    private bool TryServePending(Span<byte> destination, out int served)
    {
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

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private void Release()
    {
        _disposed = true;
        ForgetKey();
        _cipher?.Dispose();
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
        _carry = 0;
    }

    protected override void Dispose(bool disposing)
    {
        if (!_disposed && disposing)
        {
            Release();
            if (!_leaveOpen) _source.Dispose();
        }
        _disposed = true;
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            Release();
            if (!_leaveOpen) await _source.DisposeAsync().ConfigureAwait(false);
        }
        GC.SuppressFinalize(this);
    }
}
