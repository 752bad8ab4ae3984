namespace Coffre.Server.Signing;

/// <summary>How the request body is protected, from x-amz-content-sha256 (or its absence).</summary>
public enum PayloadMode
{
    /// <summary>x-amz-content-sha256 is a hex SHA-256: wrap the body in <see cref="PayloadHashVerifyingStream"/>.</summary>
    SignedHash,
    /// <summary>UNSIGNED-PAYLOAD (always the case for presigned S3 URLs): body not covered by the signature.</summary>
    Unsigned,
    /// <summary>STREAMING-AWS4-HMAC-SHA256-PAYLOAD: aws-chunked body with chained chunk signatures.</summary>
    StreamingSigned,
    /// <summary>STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: signed chunks plus signed trailing headers.</summary>
    StreamingSignedTrailer,
    /// <summary>STREAMING-UNSIGNED-PAYLOAD-TRAILER: aws-chunked body without signatures, trailing checksum header.</summary>
    StreamingUnsignedTrailer,
    /// <summary>No x-amz-content-sha256; the caller-supplied <see cref="SigV4Request.PayloadHash"/> was signed: the body is already verified.</summary>
    PrecomputedHash,
}

/// <summary>Outcome of <see cref="SigV4Verifier.Verify"/>. Contains no secret except <see cref="SigV4AuthContext.SigningKey"/>.</summary>
public sealed class SigV4Result
{
    private SigV4Result(SigV4Error error, string message, SigV4AuthContext? context)
    {
        Error = error;
        Message = message;
        Context = context;
    }

    public bool IsSuccess => Error == SigV4Error.None;

    public SigV4Error Error { get; }

    /// <summary>Human-readable message suitable for the error response.</summary>
    public string Message { get; }

    /// <summary>Set on success.</summary>
    public SigV4AuthContext? Context { get; }

    /// <summary>The access key id, when it could be parsed (also on failure; S3 returns it in SignatureDoesNotMatch).</summary>
    public string? AccessKeyId { get; private init; }

    /// <summary>The credential scope service ("s3" / "kms"), when it could be parsed (also on failure) — for choosing the error format.</summary>
    public string? Service { get; private init; }

    /// <summary>On SignatureDoesNotMatch: the string to sign the server computed (no secret in it).</summary>
    public string? StringToSign { get; private init; }

    /// <summary>On SignatureDoesNotMatch: the canonical request the server computed (no secret in it).</summary>
    public string? CanonicalRequest { get; private init; }

    /// <summary>On SignatureDoesNotMatch: the signature the client provided.</summary>
    public string? SignatureProvided { get; private init; }

    /// <summary>On AccessDenied for unsigned x-amz-* headers: their names, comma-separated (S3 element HeadersNotSigned).</summary>
    public string? HeadersNotSigned { get; private init; }

    /// <summary>On a credential scope for another region than the pinned one: the region expected (S3 element Region).</summary>
    public string? ExpectedRegion { get; private init; }

    internal static SigV4Result WrongRegion(SigV4Error error, string message, string accessKeyId, string service, string expected)
        => new(error, message, null) { AccessKeyId = accessKeyId, Service = service, ExpectedRegion = expected };

    internal static SigV4Result Success(SigV4AuthContext context)
        => new(SigV4Error.None, "", context) { AccessKeyId = context.AccessKeyId, Service = context.Service };

    internal static SigV4Result Fail(SigV4Error error, string message, string? accessKeyId = null, string? service = null)
        => new(error, message, null) { AccessKeyId = accessKeyId, Service = service };

    /// <param name="canonicalRequest">SigV4's canonical request; null for SigV2, which has none.</param>
    internal static SigV4Result Mismatch(string accessKeyId, string service, string stringToSign, string? canonicalRequest, string provided)
        => new(SigV4Error.SignatureDoesNotMatch,
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.", null)
        {
            AccessKeyId = accessKeyId,
            Service = service,
            StringToSign = stringToSign,
            CanonicalRequest = canonicalRequest,
            SignatureProvided = provided,
        };

    internal static SigV4Result NotSigned(string accessKeyId, string service, string headers)
        => new(SigV4Error.AccessDenied, "There were headers present in the request which were not signed", null)
        {
            AccessKeyId = accessKeyId,
            Service = service,
            HeadersNotSigned = headers,
        };

    public override string ToString() => IsSuccess ? $"SigV4 OK ({Context})" : $"SigV4 {Error}: {Message}";
}

/// <summary>The authenticated identity and what is needed to verify the body.</summary>
public sealed class SigV4AuthContext
{
    internal SigV4AuthContext(string accessKeyId, string region, string service, DateTimeOffset requestTime, byte[] signingKey,
        string seedSignature, bool isPresigned, DateTimeOffset? expiresAt, PayloadMode payloadMode, string? expectedPayloadHash,
        long? decodedContentLength, IReadOnlyList<string> declaredTrailers, IReadOnlyList<string> signedHeaders)
    {
        AccessKeyId = accessKeyId;
        Region = region;
        Service = service;
        RequestTime = requestTime;
        Timestamp = requestTime.UtcDateTime.ToString(SigV4Canonicalizer.TimestampFormat, System.Globalization.CultureInfo.InvariantCulture);
        DateStamp = Timestamp[..8];
        Scope = SigV4Canonicalizer.Scope(DateStamp, region, service);
        _signingKey = signingKey;
        SeedSignature = seedSignature;
        IsPresigned = isPresigned;
        ExpiresAt = expiresAt;
        PayloadMode = payloadMode;
        ExpectedPayloadHash = expectedPayloadHash;
        DecodedContentLength = decodedContentLength;
        DeclaredTrailers = declaredTrailers;
        SignedHeaders = signedHeaders;
    }

    private readonly byte[] _signingKey;

    public string AccessKeyId { get; }
    public string Region { get; }
    /// <summary>"s3" or "kms" (the server routes on it).</summary>
    public string Service { get; }
    public DateTimeOffset RequestTime { get; }
    /// <summary>yyyyMMddTHHmmssZ.</summary>
    public string Timestamp { get; }
    /// <summary>yyyyMMdd.</summary>
    public string DateStamp { get; }
    /// <summary>date/region/service/aws4_request.</summary>
    public string Scope { get; }

    /// <summary>The derived SigV4 signing key (secret material: never log it). Needed to verify chunk signatures.</summary>
    public ReadOnlyMemory<byte> SigningKey => _signingKey;

    /// <summary>The request signature (seed of the chunk-signature chain).</summary>
    public string SeedSignature { get; }
    public bool IsPresigned { get; }
    /// <summary>4, or 2 for a request <see cref="SigV2Verifier"/> authenticated (no signing key, no chunk signatures, body unsigned).</summary>
    public int SignatureVersion { get; init; } = 4;
    /// <summary>Presigned only: X-Amz-Date + X-Amz-Expires.</summary>
    public DateTimeOffset? ExpiresAt { get; }
    public PayloadMode PayloadMode { get; }
    /// <summary>The x-amz-content-sha256 hex value when <see cref="PayloadMode"/> is SignedHash (or the caller's hash for PrecomputedHash).</summary>
    public string? ExpectedPayloadHash { get; }
    /// <summary>x-amz-decoded-content-length (streaming modes).</summary>
    public long? DecodedContentLength { get; }
    /// <summary>Lowercase names from x-amz-trailer (trailer modes).</summary>
    public IReadOnlyList<string> DeclaredTrailers { get; }
    public IReadOnlyList<string> SignedHeaders { get; }

    /// <summary>True for the three STREAMING-* modes (the body is aws-chunked).</summary>
    public bool IsStreaming => PayloadMode is PayloadMode.StreamingSigned or PayloadMode.StreamingSignedTrailer or PayloadMode.StreamingUnsignedTrailer;

    /// <summary>
    /// Wraps the raw request body so that reading it yields the verified payload: an <see cref="AwsChunkedDecodingStream"/>
    /// for streaming modes, a <see cref="PayloadHashVerifyingStream"/> for SignedHash, the body itself otherwise.
    /// Failures surface as <see cref="SigV4Exception"/> from Read; consumers must not commit data before reading to EOF.
    /// </summary>
    public Stream WrapBody(Stream body, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(body);
        return PayloadMode switch
        {
            PayloadMode.StreamingSigned or PayloadMode.StreamingSignedTrailer or PayloadMode.StreamingUnsignedTrailer
                => new AwsChunkedDecodingStream(body, this, leaveOpen),
            PayloadMode.SignedHash => new PayloadHashVerifyingStream(body, ExpectedPayloadHash!, leaveOpen),
            _ => body,
        };
    }

    public override string ToString() => $"{AccessKeyId} {Scope} {PayloadMode}{(IsPresigned ? " presigned" : "")}";
}
