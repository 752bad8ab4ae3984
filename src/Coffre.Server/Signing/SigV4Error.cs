namespace Coffre.Server.Signing;

/// <summary>Why a SigV4 verification (or the decoding of a signed body) failed.</summary>
public enum SigV4Error
{
    None = 0,
    /// <summary>The computed signature differs from the one provided (S3: SignatureDoesNotMatch, 403).</summary>
    SignatureDoesNotMatch,
    /// <summary>The access key id is unknown (S3: InvalidAccessKeyId, 403).</summary>
    InvalidAccessKeyId,
    /// <summary>Authentication failed for another reason, e.g. expired presigned URL, missing date, unsigned x-amz-* headers (403).</summary>
    AccessDenied,
    /// <summary>The request time is too far from the server time (403).</summary>
    RequestTimeTooSkewed,
    /// <summary>The Authorization header could not be parsed or is inconsistent (400).</summary>
    AuthorizationHeaderMalformed,
    /// <summary>The presigned query parameters could not be parsed or are inconsistent (400).</summary>
    AuthorizationQueryParametersError,
    /// <summary>No SigV4 authentication at all (anonymous request). S3 face: treat as anonymous / AccessDenied; KMS face: MissingAuthenticationToken.</summary>
    MissingAuthenticationToken,
    /// <summary>A header required by the chosen signing mode is missing (e.g. x-amz-decoded-content-length for streaming uploads).</summary>
    MissingSecurityHeader,
    /// <summary>The body does not hash to the x-amz-content-sha256 value (400).</summary>
    XAmzContentSHA256Mismatch,
    /// <summary>The body ended early (truncated chunk, missing final chunk, fewer bytes than x-amz-decoded-content-length).</summary>
    IncompleteBody,
    /// <summary>The aws-chunked framing is malformed (bad size line, missing CRLF, missing chunk signature, trailing garbage).</summary>
    InvalidChunk,
    /// <summary>The trailer section of an aws-chunked body is malformed or misses a declared trailer.</summary>
    MalformedTrailerError,
    /// <summary>The request is not supported / inconsistent (e.g. missing x-amz-content-sha256 on S3, SigV2, SigV4a).</summary>
    InvalidRequest,
    /// <summary>A request for another service than s3 leaves its body out of the signature (presigned URL, UNSIGNED-PAYLOAD, aws-chunked).</summary>
    PayloadNotSigned,
    /// <summary>A parameter has an invalid value (e.g. bad x-amz-content-sha256 value, two auth mechanisms at once).</summary>
    InvalidArgument,
}

/// <summary>Thrown by the body streams (chunk signature mismatch, truncated body, hash mismatch). Carries no secret.</summary>
public sealed class SigV4Exception : IOException
{
    public SigV4Exception(SigV4Error error, string message) : base(message) => Error = error;

    public SigV4Error Error { get; }
}

/// <summary>Maps <see cref="SigV4Error"/> to the wire error codes of the S3 and KMS faces.</summary>
public static class SigV4ErrorCodes
{
    public static string ToS3Code(this SigV4Error error) => error switch
    {
        SigV4Error.None => "",
        SigV4Error.MissingAuthenticationToken => "AccessDenied",
        SigV4Error.InvalidChunk or SigV4Error.PayloadNotSigned => "InvalidRequest",
        _ => error.ToString(),
    };

    public static int ToS3HttpStatus(this SigV4Error error) => error switch
    {
        SigV4Error.None => 200,
        SigV4Error.SignatureDoesNotMatch or SigV4Error.InvalidAccessKeyId or SigV4Error.AccessDenied
            or SigV4Error.RequestTimeTooSkewed or SigV4Error.MissingAuthenticationToken => 403,
        _ => 400,
    };

    public static string ToKmsCode(this SigV4Error error) => error switch
    {
        SigV4Error.None => "",
        SigV4Error.SignatureDoesNotMatch or SigV4Error.RequestTimeTooSkewed or SigV4Error.PayloadNotSigned => "InvalidSignatureException",
        SigV4Error.InvalidAccessKeyId => "UnrecognizedClientException",
        SigV4Error.AccessDenied => "AccessDeniedException",
        SigV4Error.AuthorizationHeaderMalformed or SigV4Error.AuthorizationQueryParametersError
            or SigV4Error.MissingSecurityHeader => "IncompleteSignatureException",
        SigV4Error.MissingAuthenticationToken => "MissingAuthenticationTokenException",
        _ => "ValidationException",
    };
}
