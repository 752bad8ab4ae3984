namespace Coffre.Cli;

/// <summary>The process exit codes, documented in docs/operations.md. Scripts rely on them: never renumber.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>Bad command line: unknown command or option, missing argument, invalid value.</summary>
    public const int Usage = 1;
    /// <summary>Authentication or integrity failure: wrong passphrase, tampered or truncated ciphertext, wrong key.</summary>
    public const int AuthenticationFailed = 2;
    /// <summary>A named thing does not exist: key, file, data directory not initialised.</summary>
    public const int NotFound = 3;
    /// <summary>The key's state forbids the operation: disabled, pending destruction, destroyed.</summary>
    public const int KeyUnavailable = 4;
    /// <summary>It already exists: key name, initialised data directory, output file.</summary>
    public const int Conflict = 5;
    /// <summary>The audit trail could not record the operation, so it was refused; or the audit chain failed verification.</summary>
    public const int AuditFailure = 6;
    /// <summary>Authenticated, but not allowed: the access key lacks the grant (e.g. the admin grant for `access-key --endpoint`).</summary>
    public const int AccessDenied = 7;
    /// <summary>The server (or the data directory) is sealed: unseal it first (`coffre unseal`).</summary>
    public const int Sealed = 8;
    /// <summary>A storage backend failed its check (unreachable, credentials refused, data read back wrong).</summary>
    public const int BackendUnavailable = 9;
    /// <summary>Anything else: I/O error, unexpected failure.</summary>
    public const int Failure = 10;
    /// <summary>Interrupted (Ctrl-C, SIGINT): 128 + 2, as shells report it; set by System.CommandLine when it cancels the command
    /// (the normal end of <c>audit tail --follow</c>).</summary>
    public const int Interrupted = 130;
}
