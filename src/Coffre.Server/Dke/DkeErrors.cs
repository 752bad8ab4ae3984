using Coffre.Kms;

namespace Coffre.Server.Dke;

/// <summary>Every way a DKE request can fail, each with one HTTP status (the face's one table, <see cref="DkeErrors"/>).</summary>
public enum DkeError
{
    /// <summary>Malformed JSON, a missing member, bad base64, an algorithm other than RSA-OAEP-256, a malformed key id.</summary>
    BadRequest,
    /// <summary>No bearer token, or one that is malformed, from an untrusted issuer, badly signed, expired or for another audience.</summary>
    Unauthorized,
    /// <summary>A valid token whose email and roles are not authorized for the key.</summary>
    Forbidden,
    /// <summary>No such key name, or a key id naming a version or key this service does not have.</summary>
    NotFound,
    /// <summary>The Coffre key (or the version the key id names) is disabled, scheduled for destruction or destroyed.</summary>
    KeyUnavailable,
    /// <summary>The ciphertext does not decrypt under the key id's version.</summary>
    InvalidCiphertext,
    MethodNotAllowed,
    /// <summary>The key store or the audit trail is unavailable, or the key manager is sealed (no audit, no answer): retry later.</summary>
    Unavailable,
    Internal,
}

/// <summary>The one table of the DKE face: the status of each error, and the key manager's errors mapped to them.</summary>
public static class DkeErrors
{
    public static int Status(DkeError e) => e switch
    {
        DkeError.BadRequest or DkeError.InvalidCiphertext => 400,
        DkeError.Unauthorized => 401,
        DkeError.Forbidden or DkeError.KeyUnavailable => 403,
        DkeError.NotFound => 404,
        DkeError.MethodNotAllowed => 405,
        DkeError.Unavailable => 503,
        _ => 500,
    };

    public static DkeError From(KmsError e) => e switch
    {
        KmsError.NotFound => DkeError.NotFound,
        KmsError.Disabled or KmsError.PendingDestruction or KmsError.Destroyed or KmsError.VersionNotUsable => DkeError.KeyUnavailable,
        KmsError.InvalidCiphertext => DkeError.InvalidCiphertext,
        KmsError.InvalidArgument or KmsError.InvalidKeyUsage or KmsError.UnsupportedOperation => DkeError.BadRequest,
        KmsError.AccessDenied => DkeError.Forbidden,
        KmsError.AuditUnavailable or KmsError.StoreUnavailable or KmsError.Sealed => DkeError.Unavailable,
        _ => DkeError.Internal,
    };

    /// <summary>Every code the face answers with, "OK" included: its <c>code</c> metric labels.</summary>
    public static IEnumerable<string> AllCodes => ["OK", .. Enum.GetNames<DkeError>()];
}

/// <summary>A refusal with its table entry; the message says what failed and never carries a token or a key.</summary>
public sealed class DkeException(DkeError error, string message) : Exception(message)
{
    public DkeError Error { get; } = error;
}
