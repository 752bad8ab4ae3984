namespace Coffre.Server.Admin;

/// <summary>Every way an admin API request can fail, each with one HTTP status and code (the admin API's error table).</summary>
public enum AdminError
{
    /// <summary>No signature, a bad one, an unknown access key, or a body the signature does not cover.</summary>
    Unauthenticated,
    /// <summary>Authenticated, but the access key lacks the admin grant.</summary>
    AccessDenied,
    InvalidRequest,
    BodyTooLarge,
    NotFound,
    MethodNotAllowed,
    /// <summary>The access key changed meanwhile or was revoked.</summary>
    Conflict,
    /// <summary>The key store or the audit trail is unavailable; retry later.</summary>
    Unavailable,
    /// <summary>The server is sealed: the operation needs the root of trust; unseal first.</summary>
    Sealed,
    /// <summary>An unseal share or passphrase was refused; the unseal attempt starts over.</summary>
    UnsealRefused,
    /// <summary>Too many failed unseal attempts in a short time.</summary>
    TooManyAttempts,
}

public static class AdminErrors
{
    public static int Status(AdminError e) => e switch
    {
        AdminError.Unauthenticated => 403,
        AdminError.AccessDenied => 403,
        AdminError.InvalidRequest => 400,
        AdminError.BodyTooLarge => 413,
        AdminError.NotFound => 404,
        AdminError.MethodNotAllowed => 405,
        AdminError.Conflict => 409,
        AdminError.Unavailable => 503,
        AdminError.Sealed => 503,
        AdminError.UnsealRefused => 400,
        AdminError.TooManyAttempts => 429,
        _ => 500,
    };

    public static string Code(AdminError e) => e.ToString();

    /// <summary>Every code the admin API answers with, "OK" included: its <c>code</c> metric labels.</summary>
    public static IEnumerable<string> AllCodes => ["OK", .. Enum.GetValues<AdminError>().Select(Code)];

    public static AdminError From(Coffre.Kms.KmsError e) => e switch
    {
        Coffre.Kms.KmsError.NotFound => AdminError.NotFound,
        Coffre.Kms.KmsError.AccessDenied => AdminError.AccessDenied,
        Coffre.Kms.KmsError.Conflict or Coffre.Kms.KmsError.AlreadyExists => AdminError.Conflict,
        Coffre.Kms.KmsError.InvalidArgument or Coffre.Kms.KmsError.InvalidName => AdminError.InvalidRequest,
        Coffre.Kms.KmsError.Sealed => AdminError.Sealed,
        Coffre.Kms.KmsError.InvalidShare or Coffre.Kms.KmsError.WrongPassphrase => AdminError.UnsealRefused,
        Coffre.Kms.KmsError.TooManyAttempts => AdminError.TooManyAttempts,
        _ => AdminError.Unavailable,
    };
}

/// <summary>A refusal of the admin API with its table entry; the message names what failed and never a secret.</summary>
public sealed class AdminException(AdminError error, string message) : Exception(message)
{
    public AdminError Error { get; } = error;
}
