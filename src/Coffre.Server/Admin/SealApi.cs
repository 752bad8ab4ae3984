using System.Text.Json;
using Coffre.Kms;
using Coffre.Kms.Keys;
using Coffre.Kms.Root;
using Microsoft.Extensions.Logging;

namespace Coffre.Server.Admin;

/// <summary>
/// Seal, unseal and seal status of the admin API (docs/operations.md, "Sealing and unsealing"). Sealing is an admin
/// operation (signed, admin grant). Unsealing and the status need no credential, as in Vault: while sealed the stored
/// access keys cannot be opened, and a share (or the passphrase) is itself the credential. What bounds guessing is the
/// unsealer: shares are checked against the seal's digests, and failures are limited per minute.
/// </summary>
public sealed class SealApi(KeyManager keys, RootUnsealer unsealer, ILogger<SealApi> log)
{
    public const string SealPath = AdminApi.PathPrefix + "/seal";
    public const string UnsealPath = AdminApi.PathPrefix + "/unseal";
    public const string StatusPath = AdminApi.PathPrefix + "/seal-status";
    /// <summary>The principal recorded for unseal steps: they carry no access key.</summary>
    public const string UnsealPrincipal = "coffre:unseal";

    public const string SealOperation = "Seal";
    public const string UnsealOperation = "Unseal";
    public const string StatusOperation = "SealStatus";

    /// <summary>The unauthenticated routes: their operation name and handler (body → answer), or null.</summary>
    public (string Operation, Func<byte[], Task<object>> Handler)? OpenRoute(string method, string path) => (method, path) switch
    {
        ("POST", UnsealPath) => (UnsealOperation, Unseal),
        ("GET", StatusPath) => (StatusOperation, _ => Task.FromResult<object>(Status())),
        (_, UnsealPath or StatusPath) => throw new AdminException(AdminError.MethodNotAllowed,
            $"{method} is not allowed on {path}: use POST {UnsealPath} or GET {StatusPath}."),
        _ => null,
    };

    public async Task<SealStatusBody> SealAsync(string principal)
    {
        unsealer.Reset();
        if (await keys.SealAsync(principal).ConfigureAwait(false)) log.LogWarning("Sealed by {Principal}: every key use is refused until unsealed", principal);
        return Status();
    }

    public SealStatusBody Status()
    {
        var progress = unsealer.Progress();
        return new SealStatusBody(keys.IsSealed, progress.Kind.ToString().ToLowerInvariant(), progress.Needed, progress.Shares,
            keys.IsSealed ? progress.Submitted : 0);
    }

    private async Task<object> Unseal(byte[] body)
    {
        UnsealBody request;
        try
        {
            request = JsonSerializer.Deserialize<UnsealBody>(body, AdminJson.Options)
                ?? throw new AdminException(AdminError.InvalidRequest, "The request body is JSON null; send {\"share\": \"...\"}.");
        }
        catch (JsonException e)
        {
            throw new AdminException(AdminError.InvalidRequest, $"The request body is not the expected JSON: {e.Message}");
        }
        if (request.Reset)
        {
            unsealer.Reset();
            return Status();
        }
        if (!keys.IsSealed) return Status();
        var part = request.Share ?? request.Passphrase ?? request.Pin
            ?? throw new AdminException(AdminError.InvalidRequest,
                "Send {\"share\": \"coffre-share:...\"} (or {\"passphrase\": \"...\"} for a passphrase root, {\"pin\": \"...\"} for an HSM root).");
        IRootOfTrust? root;
        UnsealProgress progress;
        try
        {
            root = unsealer.Submit(part, out progress);
        }
        catch (KmsException e) when (e.Error is KmsError.InvalidShare or KmsError.WrongPassphrase or KmsError.TooManyAttempts)
        {
            log.LogWarning("Unseal attempt refused: {Message}", e.Message);
            throw await keys.RecordRefusalAsync(UnsealOperation, UnsealPrincipal, null, e).ConfigureAwait(false);
        }
        if (root is null)
        {
            await keys.RecordRootEventAsync("UnsealShare", UnsealPrincipal, ("progress", progress.Submitted), ("threshold", progress.Needed)).ConfigureAwait(false);
            return Status();
        }
        if (await keys.UnsealAsync(root, UnsealPrincipal, progress.Kind.ToString().ToLowerInvariant()).ConfigureAwait(false))
            log.LogWarning("Unsealed ({Root} root)", progress.Kind);
        return Status();
    }
}
