using Coffre.Kms;

namespace Coffre.Server.Xks;

/// <summary>Every way an XKS proxy request can fail: the spec's error names (XKS proxy API v1, "Error Codes").</summary>
public enum XksError
{
    ValidationException,
    InvalidStateException,
    InvalidCiphertextException,
    InvalidKeyUsageException,
    AuthenticationFailedException,
    AccessDeniedException,
    KeyNotFoundException,
    InvalidUriPathException,
    ThrottlingException,
    UnsupportedOperationException,
    DependencyTimeoutException,
    InternalException,
    /// <summary>Not an error name of the spec, which asks only for HTTP 405 when an API URI is called with GET.</summary>
    MethodNotAllowed,
}

/// <summary>A refusal answered as <c>{"errorName": ..., "errorMessage": ...}</c> with the error's status.</summary>
public sealed class XksFaceException(XksError error, string message) : Exception(message)
{
    public XksError Error { get; } = error;
}

/// <summary>
/// The one table of the XKS face: each <see cref="XksError"/>'s HTTP status, the key manager's errors mapped to them,
/// and the <see cref="KmsError"/> each face-level refusal is recorded as in the audit trail.
/// </summary>
public static class XksErrors
{
    private static readonly Dictionary<XksError, int> Status = new()
    {
        [XksError.ValidationException] = 400,
        [XksError.InvalidStateException] = 400,
        [XksError.InvalidCiphertextException] = 400,
        [XksError.InvalidKeyUsageException] = 400,
        [XksError.AuthenticationFailedException] = 401,
        [XksError.AccessDeniedException] = 403,
        [XksError.KeyNotFoundException] = 404,
        [XksError.InvalidUriPathException] = 404,
        [XksError.ThrottlingException] = 429,
        [XksError.UnsupportedOperationException] = 501,
        [XksError.DependencyTimeoutException] = 503,
        [XksError.InternalException] = 500,
        [XksError.MethodNotAllowed] = 405,
    };

    /// <summary>Key-manager error → XKS error. A key disabled, pending destruction or destroyed in Coffre, or a version no
    /// longer usable, is the spec's "external key ... disabled/deactivated/blocked".</summary>
    private static readonly Dictionary<KmsError, XksError> FromKms = new()
    {
        [KmsError.NotFound] = XksError.KeyNotFoundException,
        [KmsError.InvalidName] = XksError.ValidationException,
        [KmsError.InvalidArgument] = XksError.ValidationException,
        [KmsError.Disabled] = XksError.InvalidStateException,
        [KmsError.PendingDestruction] = XksError.InvalidStateException,
        [KmsError.Destroyed] = XksError.InvalidStateException,
        [KmsError.VersionNotUsable] = XksError.InvalidStateException,
        [KmsError.Conflict] = XksError.InvalidStateException,
        [KmsError.InvalidCiphertext] = XksError.InvalidCiphertextException,
        [KmsError.InvalidKeyUsage] = XksError.InvalidKeyUsageException,
        [KmsError.IncorrectKey] = XksError.InvalidCiphertextException,
        [KmsError.AccessDenied] = XksError.AccessDeniedException,
        [KmsError.StoreUnavailable] = XksError.DependencyTimeoutException,
        [KmsError.AuditUnavailable] = XksError.InternalException,
    };

    /// <summary>Face-level refusal → the result recorded in the audit trail (the XKS name goes in the record's context).</summary>
    private static readonly Dictionary<XksError, KmsError> Recorded = new()
    {
        [XksError.ValidationException] = KmsError.InvalidArgument,
        [XksError.InvalidKeyUsageException] = KmsError.AccessDenied,
        [XksError.AuthenticationFailedException] = KmsError.AccessDenied,
        [XksError.AccessDeniedException] = KmsError.AccessDenied,
        [XksError.KeyNotFoundException] = KmsError.NotFound,
        [XksError.InvalidUriPathException] = KmsError.NotFound,
        [XksError.UnsupportedOperationException] = KmsError.InvalidArgument,
        [XksError.InvalidCiphertextException] = KmsError.InvalidCiphertext,
    };

    public static IEnumerable<string> AllNames => Status.Keys.Select(e => e.ToString());

    public static int StatusOf(XksError error) => Status[error];

    public static XksError Of(KmsError error) => FromKms.GetValueOrDefault(error, XksError.InternalException);

    public static KmsError RecordedAs(XksError error) => Recorded.GetValueOrDefault(error, KmsError.InvalidArgument);
}
