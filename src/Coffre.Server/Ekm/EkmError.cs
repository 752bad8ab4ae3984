using Coffre.Kms;

namespace Coffre.Server.Ekm;

/// <summary>Every way an EKM request can fail; answered as a google.rpc.Status JSON error (<see cref="EkmErrors"/>).</summary>
public enum EkmError
{
    InvalidArgument,
    Unauthenticated,
    /// <summary>The justification is missing or not allowed for the key.</summary>
    PermissionDenied,
    NotFound,
    /// <summary>The Coffre key is disabled, scheduled for destruction or destroyed.</summary>
    FailedPrecondition,
    Unavailable,
    Internal,
}

/// <summary>The one table of the EKM face: HTTP status and google.rpc status name of each error, and the key manager's errors.</summary>
public static class EkmErrors
{
    public static int Status(EkmError e) => e switch
    {
        EkmError.InvalidArgument => 400,
        EkmError.Unauthenticated => 401,
        EkmError.PermissionDenied => 403,
        EkmError.NotFound => 404,
        EkmError.FailedPrecondition => 400,
        EkmError.Unavailable => 503,
        _ => 500,
    };

    public static string StatusName(EkmError e) => e switch
    {
        EkmError.InvalidArgument => "INVALID_ARGUMENT",
        EkmError.Unauthenticated => "UNAUTHENTICATED",
        EkmError.PermissionDenied => "PERMISSION_DENIED",
        EkmError.NotFound => "NOT_FOUND",
        EkmError.FailedPrecondition => "FAILED_PRECONDITION",
        EkmError.Unavailable => "UNAVAILABLE",
        _ => "INTERNAL",
    };

    public static EkmError From(KmsError e) => e switch
    {
        KmsError.Disabled or KmsError.PendingDestruction or KmsError.Destroyed or KmsError.VersionNotUsable or KmsError.InvalidKeyUsage => EkmError.FailedPrecondition,
        KmsError.NotFound => EkmError.NotFound,
        KmsError.InvalidCiphertext or KmsError.IncorrectKey or KmsError.InvalidArgument => EkmError.InvalidArgument,
        KmsError.AccessDenied => EkmError.PermissionDenied,
        KmsError.AuditUnavailable or KmsError.StoreUnavailable => EkmError.Unavailable,
        _ => EkmError.Internal,
    };

    public static IEnumerable<string> AllCodes => ["OK", .. Enum.GetValues<EkmError>().Select(StatusName)];
}

public sealed class EkmException(EkmError error, string message) : Exception(message)
{
    public EkmError Error { get; } = error;
}
