using Coffre.Kms;

namespace Coffre.Server.Kms;

/// <summary>An error answered in the AWS KMS JSON error shape: <c>{"__type": Type, "message": Message}</c>.</summary>
public sealed class KmsFaceException(string type, string message) : Exception(message)
{
    public string Type { get; } = type;
    public int Status => KmsErrors.StatusOf(Type);
}

/// <summary>
/// The one table of the KMS face's errors: every <see cref="KmsError"/> of the key manager and every
/// protocol-level error maps here to its AWS <c>__type</c> and HTTP status.
/// </summary>
public static class KmsErrors
{
    public const string AccessDenied = "AccessDeniedException";
    public const string AlreadyExists = "AlreadyExistsException";
    public const string Disabled = "DisabledException";
    public const string IncorrectKey = "IncorrectKeyException";
    public const string InvalidAliasName = "InvalidAliasNameException";
    public const string InvalidArn = "InvalidArnException";
    public const string InvalidCiphertext = "InvalidCiphertextException";
    public const string InvalidMarker = "InvalidMarkerException";
    public const string InvalidState = "KMSInvalidStateException";
    public const string Internal = "KMSInternalException";
    public const string DependencyTimeout = "DependencyTimeoutException";
    public const string NotFound = "NotFoundException";
    public const string Serialization = "SerializationException";
    public const string UnknownOperation = "UnknownOperationException";
    public const string UnsupportedOperation = "UnsupportedOperationException";
    public const string Validation = "ValidationException";
    public const string TagException = "TagException";
    public const string InvalidKeyUsage = "InvalidKeyUsageException";
    public const string InvalidSignature = "KMSInvalidSignatureException";

    /// <summary>__type → HTTP status. AWS KMS answers client errors with 400 (even access denied), server errors with 500.</summary>
    private static readonly Dictionary<string, int> Status = new(StringComparer.Ordinal)
    {
        [AccessDenied] = 400,
        [AlreadyExists] = 400,
        [Disabled] = 400,
        [IncorrectKey] = 400,
        [InvalidAliasName] = 400,
        [InvalidArn] = 400,
        [InvalidCiphertext] = 400,
        [InvalidMarker] = 400,
        [InvalidState] = 400,
        [NotFound] = 400,
        [Serialization] = 400,
        [UnknownOperation] = 400,
        [UnsupportedOperation] = 400,
        [Validation] = 400,
        [TagException] = 400,
        [InvalidKeyUsage] = 400,
        [InvalidSignature] = 400,
        [Internal] = 500,
        [DependencyTimeout] = 503,
        // authentication (SigV4ErrorCodes.ToKmsCode)
        ["InvalidSignatureException"] = 400,
        ["UnrecognizedClientException"] = 400,
        ["IncompleteSignatureException"] = 400,
        ["MissingAuthenticationTokenException"] = 403,
    };

    /// <summary>Key-manager error → __type.</summary>
    private static readonly Dictionary<KmsError, string> Types = new()
    {
        [KmsError.NotFound] = NotFound,
        [KmsError.AlreadyExists] = AlreadyExists,
        [KmsError.InvalidName] = Validation,
        [KmsError.Disabled] = Disabled,
        [KmsError.PendingDestruction] = InvalidState,
        [KmsError.Destroyed] = InvalidState,
        [KmsError.VersionNotUsable] = InvalidState,
        [KmsError.InvalidCiphertext] = InvalidCiphertext,
        [KmsError.AuditUnavailable] = Internal,
        [KmsError.WrongPassphrase] = Internal,
        [KmsError.NotInitialized] = Internal,
        [KmsError.AlreadyInitialized] = Internal,
        [KmsError.InvalidArgument] = Validation,
        [KmsError.Conflict] = InvalidState,
        [KmsError.DestructionRefused] = InvalidState,
        [KmsError.StoreUnavailable] = DependencyTimeout,
        [KmsError.IncorrectKey] = IncorrectKey,
        [KmsError.InvalidKeyUsage] = InvalidKeyUsage,
        [KmsError.UnsupportedOperation] = UnsupportedOperation,
        [KmsError.InvalidSignature] = InvalidSignature,
        [KmsError.AccessDenied] = AccessDenied,
        // Sealed: a 503 that AWS SDKs retry (as any 5xx), documented by AWS as "you can retry the request".
        [KmsError.Sealed] = DependencyTimeout,
    };

    /// <summary>Every __type of the table: with "OK", the closed set of the KMS face's <c>code</c> metric label.</summary>
    public static IEnumerable<string> AllTypes => Status.Keys;

    public static string TypeOf(KmsError error) => Types.GetValueOrDefault(error, Internal);

    public static int StatusOf(string type) => Status.GetValueOrDefault(type, 400);

    public static KmsFaceException From(KmsException e) => new(TypeOf(e.Error), e.Message);
}
