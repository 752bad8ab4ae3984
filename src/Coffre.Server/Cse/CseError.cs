using Coffre.Kms;

namespace Coffre.Server.Cse;

/// <summary>Every way a key service request can fail, each with one HTTP status (the face's error table, <see cref="CseErrors"/>).</summary>
public enum CseError
{
    /// <summary>Malformed JSON, a missing or oversized member, bad base64.</summary>
    BadRequest,
    /// <summary>A token is missing, malformed, from an untrusted issuer, badly signed, expired, for another audience or another kacls_url.</summary>
    Unauthenticated,
    /// <summary>Valid tokens, but the role, the emails, the perimeter rule or the privileged-users list refuse the request.</summary>
    Forbidden,
    /// <summary>The Coffre key is disabled, scheduled for destruction, destroyed, or the version the data key names is not usable.</summary>
    KeyUnavailable,
    /// <summary>The wrapped key is malformed, was altered, was made for another resource or perimeter, or by another key.</summary>
    InvalidWrappedKey,
    NotFound,
    MethodNotAllowed,
    /// <summary>The key store or the audit trail is unavailable (no audit, no answer): retry later.</summary>
    Unavailable,
    Internal,
}

/// <summary>The one table of the key service face: status of each error, and the key manager's errors mapped to them.</summary>
public static class CseErrors
{
    public static int Status(CseError e) => e switch
    {
        CseError.BadRequest => 400,
        CseError.Unauthenticated => 401,
        CseError.Forbidden => 403,
        CseError.KeyUnavailable => 403,
        CseError.InvalidWrappedKey => 400,
        CseError.NotFound => 404,
        CseError.MethodNotAllowed => 405,
        CseError.Unavailable => 503,
        _ => 500,
    };

    public static CseError From(KmsError e) => e switch
    {
        // An RSA key named for the face (refused at start-up if it exists then, here if created later under that name) wraps nothing either.
        KmsError.Disabled or KmsError.PendingDestruction or KmsError.Destroyed or KmsError.VersionNotUsable or KmsError.NotFound
            or KmsError.InvalidKeyUsage => CseError.KeyUnavailable,
        KmsError.InvalidCiphertext or KmsError.IncorrectKey => CseError.InvalidWrappedKey,
        KmsError.InvalidArgument => CseError.BadRequest,
        KmsError.AccessDenied => CseError.Forbidden,
        KmsError.AuditUnavailable or KmsError.StoreUnavailable => CseError.Unavailable,
        _ => CseError.Internal,
    };

    /// <summary>Every code the face answers with, "OK" included: its <c>code</c> metric labels.</summary>
    public static IEnumerable<string> AllCodes => ["OK", .. Enum.GetNames<CseError>()];
}

/// <summary>A refusal with its table entry; the message says what failed and never carries a token or a key.</summary>
public sealed class CseException(CseError error, string message, Func<Task<CseException>>? record = null) : Exception(message)
{
    public CseError Error { get; } = error;

    /// <summary>For a refusal this face decided: records it in the audit trail and gives the exception to answer
    /// (Unavailable when the record cannot be written: no audit, no answer). The face awaits it before answering, so the
    /// checks that refuse can stay synchronous.</summary>
    public Func<Task<CseException>>? Record { get; } = record;
}
