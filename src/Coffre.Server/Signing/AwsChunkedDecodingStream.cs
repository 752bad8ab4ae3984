using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Coffre.Server.Signing;

/// <summary>
/// Read-only, pull-based decoder of <c>aws-chunked</c> request bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD,
/// STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-UNSIGNED-PAYLOAD-TRAILER).
/// <para>
/// Chunk data is streamed out while it is hashed; each chunk signature is checked when the chunk ends, and a
/// mismatch fails that (later) read with a <see cref="SigV4Exception"/>. Data returned before EOF is therefore
/// NOT yet authenticated: consumers must not commit anything until Read has returned 0 (EOF), which happens only
/// after every chunk signature, the trailer signature, the final framing and x-amz-decoded-content-length have been
/// verified. The stream uses one pooled buffer and never buffers a whole chunk.
/// </para>
/// </summary>
public sealed class AwsChunkedDecodingStream : Stream
{
    private const int BufferSize = 16 * 1024;
    private const int MaxLineLength = 4096;
    private const int MaxTrailerBytes = 16 * 1024;
    private static readonly byte[] EmptyHashHex = Encoding.ASCII.GetBytes(SigV4Canonicalizer.EmptyPayloadSha256);

    private enum State { ChunkHeader, ChunkData, ChunkEnd, Trailers, Done, Faulted }

    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private readonly PayloadMode _mode;
    private readonly bool _signed;
    private readonly bool _trailer;
    private readonly long? _expectedLength;
    private readonly IReadOnlyCollection<string> _declaredTrailers;
    private readonly IncrementalHash? _sha;
    private readonly IncrementalHash? _hmac;
    private readonly byte[]? _chunkPrefix;   // "AWS4-HMAC-SHA256-PAYLOAD\n{ts}\n{scope}\n"
    private readonly byte[]? _trailerPrefix; // "AWS4-HMAC-SHA256-TRAILER\n{ts}\n{scope}\n"
    private readonly byte[] _previousSignature = new byte[64];
    private readonly byte[] _chunkSignature = new byte[64];
    private readonly Dictionary<string, string> _trailers = new(StringComparer.Ordinal);
    private readonly List<KeyValuePair<string, string>> _trailerOrder = [];

    private byte[]? _buffer;
    private int _pos, _len;
    private State _state = State.ChunkHeader;
    private long _chunkRemaining;
    private long _decoded;
    private int _trailerBytes;
    private string? _trailerSignature;
    private SigV4Exception? _fault;

    /// <summary>Decodes according to a successful verification result.</summary>
    public AwsChunkedDecodingStream(Stream inner, SigV4AuthContext context, bool leaveOpen = false)
        : this(inner, context?.PayloadMode ?? throw new ArgumentNullException(nameof(context)), context.SigningKey.Span,
            context.Timestamp, context.Scope, context.SeedSignature, context.DecodedContentLength, context.DeclaredTrailers, leaveOpen)
    { }

    /// <param name="inner">The raw (aws-chunked) request body.</param>
    /// <param name="mode">One of the three streaming modes.</param>
    /// <param name="signingKey">Derived SigV4 signing key (ignored for the unsigned mode).</param>
    /// <param name="timestamp">Request timestamp yyyyMMddTHHmmssZ.</param>
    /// <param name="scope">Credential scope date/region/service/aws4_request.</param>
    /// <param name="seedSignature">Signature of the request (first "previous signature").</param>
    /// <param name="decodedContentLength">x-amz-decoded-content-length, checked at EOF (and early on overflow) when given.</param>
    /// <param name="declaredTrailers">Lowercase trailer names from x-amz-trailer; each must arrive and no other may.</param>
    public AwsChunkedDecodingStream(Stream inner, PayloadMode mode, ReadOnlySpan<byte> signingKey, string timestamp, string scope,
        string seedSignature, long? decodedContentLength, IReadOnlyCollection<string>? declaredTrailers = null, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (mode is not (PayloadMode.StreamingSigned or PayloadMode.StreamingSignedTrailer or PayloadMode.StreamingUnsignedTrailer))
            throw new ArgumentOutOfRangeException(nameof(mode), "Not a streaming payload mode.");
        _inner = inner;
        _leaveOpen = leaveOpen;
        _mode = mode;
        _signed = mode != PayloadMode.StreamingUnsignedTrailer;
        _trailer = mode != PayloadMode.StreamingSigned;
        _expectedLength = decodedContentLength;
        _declaredTrailers = declaredTrailers ?? [];
        if (_signed)
        {
            ArgumentNullException.ThrowIfNull(timestamp);
            ArgumentNullException.ThrowIfNull(scope);
            if (seedSignature is null || seedSignature.Length != 64)
                throw new ArgumentException("Seed signature must be 64 hex characters.", nameof(seedSignature));
            _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            _hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, signingKey);
            _chunkPrefix = Encoding.ASCII.GetBytes($"AWS4-HMAC-SHA256-PAYLOAD\n{timestamp}\n{scope}\n");
            _trailerPrefix = Encoding.ASCII.GetBytes($"AWS4-HMAC-SHA256-TRAILER\n{timestamp}\n{scope}\n");
            Encoding.ASCII.GetBytes(seedSignature, _previousSignature);
        }
        _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    }

    /// <summary>Trailing headers (lowercase names, without x-amz-trailer-signature). Complete only after EOF.</summary>
    public IReadOnlyDictionary<string, string> Trailers => _trailers;

    /// <summary>True once EOF was reached and everything verified.</summary>
    public bool IsCompleted => _state == State.Done;

    /// <summary>Decoded bytes returned so far.</summary>
    public long DecodedLength => _decoded;

    public PayloadMode Mode => _mode;

    public override bool CanRead => _buffer is not null;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _decoded; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        // Stream's synchronous Read, for synchronous callers only; with useAsync: false, ReadCore reads synchronously and
        // its task is already complete here.
#pragma warning disable VSTHRD002
        return ReadCore(buffer.AsMemory(offset, count), useAsync: false, default).GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadCore(buffer.AsMemory(offset, count), useAsync: true, cancellationToken).AsTask();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        => ReadCore(buffer, useAsync: true, cancellationToken);

    private async ValueTask<int> ReadCore(Memory<byte> destination, bool useAsync, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_buffer is null, this);
        if (_state == State.Faulted)
            throw _fault!;
        if (destination.Length == 0)
            return 0;
        try
        {
            while (true)
            {
                switch (_state)
                {
                    case State.Done:
                        return 0;

                    case State.ChunkHeader:
                    {
                        var line = await ReadLine(useAsync, ct).ConfigureAwait(false);
                        ParseChunkHeader(_buffer.AsSpan(line.Start, line.Length));
                        if (_chunkRemaining == 0)
                        {
                            if (_signed)
                                VerifyChunkSignature();
                            if (_trailer)
                            {
                                _state = State.Trailers;
                            }
                            else
                            {
                                await ExpectCrlf(useAsync, ct).ConfigureAwait(false);
                                await Finish(useAsync, ct).ConfigureAwait(false);
                            }
                        }
                        else
                        {
                            if (_expectedLength is { } max && _decoded + _chunkRemaining > max)
                                throw new SigV4Exception(SigV4Error.InvalidChunk,
                                    "The aws-chunked body carries more data than x-amz-decoded-content-length announces.");
                            _state = State.ChunkData;
                        }
                        break;
                    }

                    case State.ChunkData:
                    {
                        if (_chunkRemaining == 0)
                        {
                            _state = State.ChunkEnd;
                            break;
                        }
                        int n;
                        if (_pos < _len)
                        {
                            n = (int)Math.Min(Math.Min(destination.Length, _len - _pos), _chunkRemaining);
                            _buffer.AsSpan(_pos, n).CopyTo(destination.Span);
                            _pos += n;
                        }
                        else
                        {
                            // Buffer empty: read straight into the caller's buffer (no copy, no whole-chunk buffering).
                            var want = (int)Math.Min(destination.Length, _chunkRemaining);
                            n = await InnerRead(destination[..want], useAsync, ct).ConfigureAwait(false);
                            if (n == 0)
                                throw Incomplete();
                        }
                        _sha?.AppendData(destination.Span[..n]);
                        _chunkRemaining -= n;
                        _decoded += n;
                        return n;
                    }

                    case State.ChunkEnd:
                        await ExpectCrlf(useAsync, ct).ConfigureAwait(false);
                        if (_signed)
                            VerifyChunkSignature();
                        _state = State.ChunkHeader;
                        break;

                    case State.Trailers:
                    {
                        var line = await ReadLine(useAsync, ct).ConfigureAwait(false);
                        if (line.Length == 0)
                        {
                            CompleteTrailers();
                            await Finish(useAsync, ct).ConfigureAwait(false);
                            break;
                        }
                        _trailerBytes += line.Length;
                        if (_trailerBytes > MaxTrailerBytes)
                            throw new SigV4Exception(SigV4Error.MalformedTrailerError, "The trailing headers are too large.");
                        ParseTrailer(_buffer.AsSpan(line.Start, line.Length));
                        break;
                    }

                    default:
                        throw new InvalidOperationException();
                }
            }
        }
        catch (SigV4Exception ex)
        {
            _fault = ex;
            _state = State.Faulted;
            throw;
        }
    }

    private async ValueTask<int> InnerRead(Memory<byte> destination, bool useAsync, CancellationToken ct)
        => useAsync ? await _inner.ReadAsync(destination, ct).ConfigureAwait(false) : _inner.Read(destination.Span);

    /// <summary>Reads more bytes into the buffer (compacting first). Returns false on EOF.</summary>
    private async ValueTask<bool> Fill(bool useAsync, CancellationToken ct)
    {
        if (_pos > 0)
        {
            Buffer.BlockCopy(_buffer!, _pos, _buffer!, 0, _len - _pos);
            _len -= _pos;
            _pos = 0;
        }
        if (_len == _buffer!.Length)
            throw new InvalidOperationException("Buffer full.");
        var n = await InnerRead(_buffer.AsMemory(_len), useAsync, ct).ConfigureAwait(false);
        _len += n;
        return n > 0;
    }

    /// <summary>Reads one CRLF-terminated line; returns its position in the buffer (without CRLF) and consumes it.</summary>
    private async ValueTask<(int Start, int Length)> ReadLine(bool useAsync, CancellationToken ct)
    {
        var scanned = 0;
        while (true)
        {
            var idx = _buffer.AsSpan(_pos + scanned, _len - _pos - scanned).IndexOf((byte)'\n');
            if (idx >= 0)
            {
                var end = _pos + scanned + idx; // index of '\n'
                if (end == _pos || _buffer![end - 1] != '\r')
                    throw new SigV4Exception(SigV4Error.InvalidChunk, "Malformed aws-chunked body: line not terminated by CRLF.");
                var start = _pos;
                _pos = end + 1;
                return (start, end - 1 - start);
            }
            scanned = _len - _pos;
            if (scanned > MaxLineLength)
                throw new SigV4Exception(SigV4Error.InvalidChunk, "Malformed aws-chunked body: chunk header or trailer line too long.");
            if (!await Fill(useAsync, ct).ConfigureAwait(false))
                throw Incomplete();
        }
    }

    private async ValueTask ExpectCrlf(bool useAsync, CancellationToken ct)
    {
        while (_len - _pos < 2)
            if (!await Fill(useAsync, ct).ConfigureAwait(false))
                throw Incomplete();
        if (_buffer![_pos] != '\r' || _buffer[_pos + 1] != '\n')
            throw new SigV4Exception(SigV4Error.InvalidChunk, "Malformed aws-chunked body: chunk data not followed by CRLF.");
        _pos += 2;
    }

    private async ValueTask Finish(bool useAsync, CancellationToken ct)
    {
        if (_expectedLength is { } expected && _decoded != expected)
            throw new SigV4Exception(SigV4Error.IncompleteBody,
                $"The decoded body length ({_decoded}) does not match x-amz-decoded-content-length ({expected}).");
        if (_pos < _len || await Fill(useAsync, ct).ConfigureAwait(false))
            throw new SigV4Exception(SigV4Error.InvalidChunk, "Malformed aws-chunked body: data after the final chunk.");
        _state = State.Done;
    }

    private static SigV4Exception Incomplete()
        => new(SigV4Error.IncompleteBody, "The request body ended before the final aws-chunked chunk.");

    private void ParseChunkHeader(ReadOnlySpan<byte> line)
    {
        var semi = line.IndexOf((byte)';');
        var sizePart = semi < 0 ? line : line[..semi];
        if (sizePart.Length == 0 || sizePart.Length > 16)
            throw new SigV4Exception(SigV4Error.InvalidChunk, "Malformed aws-chunked body: invalid chunk size.");
        long size = 0;
        foreach (var b in sizePart)
        {
            var v = SigV4Canonicalizer.HexValue(b);
            if (v < 0 || size > (long.MaxValue >> 4))
                throw new SigV4Exception(SigV4Error.InvalidChunk, "Malformed aws-chunked body: invalid chunk size.");
            size = (size << 4) | (long)v;
        }
        _chunkRemaining = size;
        if (_signed)
        {
            var ext = semi < 0 ? ReadOnlySpan<byte>.Empty : line[(semi + 1)..];
            if (!ext.StartsWith("chunk-signature="u8) || ext.Length != "chunk-signature=".Length + 64)
                throw new SigV4Exception(SigV4Error.InvalidChunk, "Malformed aws-chunked body: missing or malformed chunk-signature.");
            ext["chunk-signature=".Length..].CopyTo(_chunkSignature);
        }
        // Unsigned mode: chunk extensions, if any, are ignored.
    }

    /// <summary>Checks the chunk signature against hash of the chunk data accumulated in <see cref="_sha"/>.</summary>
    private void VerifyChunkSignature()
    {
        Span<byte> hash = stackalloc byte[32];
        Span<byte> hex = stackalloc byte[64];
        _sha!.GetHashAndReset(hash);
        SigV4Canonicalizer.WriteHexLower(hash, hex);
        _hmac!.AppendData(_chunkPrefix!);
        _hmac.AppendData(_previousSignature);
        _hmac.AppendData("\n"u8);
        _hmac.AppendData(EmptyHashHex);
        _hmac.AppendData("\n"u8);
        _hmac.AppendData(hex);
        CheckSignature(_chunkSignature, "chunk");
    }

    private void CheckSignature(ReadOnlySpan<byte> provided, string what)
    {
        Span<byte> mac = stackalloc byte[32];
        Span<byte> hex = stackalloc byte[64];
        _hmac!.GetHashAndReset(mac);
        SigV4Canonicalizer.WriteHexLower(mac, hex);
        if (!CryptographicOperations.FixedTimeEquals(hex, provided))
            throw new SigV4Exception(SigV4Error.SignatureDoesNotMatch,
                $"The {what} signature we calculated does not match the signature you provided.");
        provided.CopyTo(_previousSignature);
    }

    private void ParseTrailer(ReadOnlySpan<byte> line)
    {
        var colon = line.IndexOf((byte)':');
        if (colon <= 0)
            throw new SigV4Exception(SigV4Error.MalformedTrailerError, "The request contained trailing data that was not well-formed.");
        var name = Encoding.ASCII.GetString(line[..colon]).Trim().ToLowerInvariant();
        var value = Encoding.UTF8.GetString(line[(colon + 1)..]).Trim();
        if (name.Length == 0 || name.Any(c => c <= ' ' || c >= 0x7f))
            throw new SigV4Exception(SigV4Error.MalformedTrailerError, "The request contained trailing data that was not well-formed.");
        if (name == "x-amz-trailer-signature")
        {
            if (!_signed || _trailerSignature is not null)
                throw new SigV4Exception(SigV4Error.MalformedTrailerError, "Unexpected x-amz-trailer-signature.");
            _trailerSignature = value;
            return;
        }
        if (_trailerSignature is not null)
            throw new SigV4Exception(SigV4Error.MalformedTrailerError, "Trailing header after x-amz-trailer-signature.");
        if (_trailers.ContainsKey(name))
            throw new SigV4Exception(SigV4Error.MalformedTrailerError, $"Duplicate trailing header '{name}'.");
        if (_declaredTrailers.Count > 0 && !_declaredTrailers.Contains(name))
            throw new SigV4Exception(SigV4Error.MalformedTrailerError, $"Trailing header '{name}' was not declared in x-amz-trailer.");
        _trailers[name] = value;
        _trailerOrder.Add(new(name, value));
    }

    private void CompleteTrailers()
    {
        foreach (var declared in _declaredTrailers)
            if (!_trailers.ContainsKey(declared))
                throw new SigV4Exception(SigV4Error.MalformedTrailerError, $"The trailing header '{declared}' declared in x-amz-trailer is missing.");
        if (!_signed)
            return;
        if (_trailerSignature is null)
            throw new SigV4Exception(SigV4Error.MalformedTrailerError, "The trailing headers carry no x-amz-trailer-signature.");
        if (!SigV4Canonicalizer.IsLowerHex(_trailerSignature, 64))
            throw new SigV4Exception(SigV4Error.SignatureDoesNotMatch, "The trailer signature we calculated does not match the signature you provided.");

        Span<byte> hash = stackalloc byte[32];
        Span<byte> hex = stackalloc byte[64];
        _sha!.AppendData(Encoding.UTF8.GetBytes(SigV4Canonicalizer.CanonicalTrailers(_trailerOrder)));
        _sha.GetHashAndReset(hash);
        SigV4Canonicalizer.WriteHexLower(hash, hex);
        _hmac!.AppendData(_trailerPrefix!);
        _hmac.AppendData(_previousSignature);
        _hmac.AppendData("\n"u8);
        _hmac.AppendData(hex);
        Span<byte> provided = stackalloc byte[64];
        Encoding.ASCII.GetBytes(_trailerSignature, provided);
        CheckSignature(provided, "trailer");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
            _sha?.Dispose();
            _hmac?.Dispose();
            if (!_leaveOpen)
                _inner.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_buffer is not null && !_leaveOpen)
            await _inner.DisposeAsync().ConfigureAwait(false);
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
            _sha?.Dispose();
            _hmac?.Dispose();
        }
        GC.SuppressFinalize(this);
    }
}
