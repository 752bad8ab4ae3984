using System.Security.Cryptography;
using System.Text.Json;
using Coffre.Kms;
using Coffre.Kms.Keys;
using Coffre.Server.Tokens;

namespace Coffre.Server.Ekm;

/// <summary>
/// wrap and unwrap under a key URI: the bearer token verified, the Key Access Justifications reason checked against the
/// key's policy, then the key manager encrypts or decrypts with the context {coffre:face: ekm, ekm:key, ekm:aad_sha256}
/// (so a blob wrapped under one key URI or with one AAD unwraps under no other) and records the answer with the caller
/// and the audit-only members ekm:operation and ekm:reason. Refusals made here are recorded with ekm:refusal.
/// </summary>
public sealed class EkmOperations(EkmOptions options, KeyManager keys, BearerTokens tokens)
{
    public const string Unauthenticated = "ekm:unauthenticated";
    public static readonly string[] Names = ["wrap", "unwrap"];
    private const int MaxAadBytes = 64 * 1024;
    private const int MaxWrappedBytes = 8192;

    public async Task HandleAsync(string keyName, string operation, string? authorizationHeader, ReadOnlyMemory<byte> body, Utf8JsonWriter w, CancellationToken cancel)
    {
        var recorded = new Dictionary<string, string>(StringComparer.Ordinal) { ["ekm:operation"] = operation, ["ekm:key"] = keyName };
        var principal = Unauthenticated;
        var key = options.Keys.GetValueOrDefault(keyName);
        async Task<EkmException> RefuseAsync(EkmError error, string message)
        {
            var context = new Dictionary<string, string>(recorded, StringComparer.Ordinal) { ["coffre:face"] = "ekm", ["ekm:refusal"] = message };
            var denied = await keys.RecordDeniedAsync(operation == "wrap" ? "Encrypt" : "Decrypt", key?.Key, principal, error.ToString(),
                EncryptionContext.Json(context)).ConfigureAwait(false);
            return denied.Error == KmsError.AuditUnavailable ? new EkmException(EkmError.Unavailable, denied.Message) : new EkmException(error, message);
        }

        ValidToken token;
        try
        {
            var bearer = authorizationHeader is { } h && h.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? h[7..].Trim() : null;
            token = await tokens.ValidateAsync(bearer, "bearer token", cancel);
        }
        catch (TokenException e)
        {
            throw await RefuseAsync(EkmError.Unauthenticated, e.Message);
        }
        principal = token.Claim("email") ?? token.Claim("sub") ?? token.Issuer;
        if (key is null) throw await RefuseAsync(EkmError.NotFound, $"There is no external key '{Short(keyName)}' here.");

        byte[]? input = null;
        try
        {
            string? reason;
            byte[] aad;
            try
            {
                using var doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 4 });
                var root = doc.RootElement.ValueKind == JsonValueKind.Object ? doc.RootElement
                    : throw new EkmException(EkmError.InvalidArgument, "The request body is not a JSON object.");
                reason = root.TryGetProperty("accessReasonContext", out var arc) && arc.ValueKind == JsonValueKind.Object
                    && arc.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
                aad = Bytes(root, "additionalAuthenticatedData", MaxAadBytes, required: false) ?? [];
                input = operation == "wrap" ? Bytes(root, "plaintext", CiphertextBlob.MaxPlaintext, required: true)
                    : Bytes(root, "wrappedBlob", MaxWrappedBytes, required: true);
            }
            catch (JsonException e)
            {
                throw await RefuseAsync(EkmError.InvalidArgument, $"The request body is not valid JSON ({e.Message}).");
            }
            catch (EkmException e)
            {
                throw await RefuseAsync(e.Error, e.Message);
            }
            recorded["ekm:reason"] = reason ?? AccessReasons.Missing;
            if (reason is null && !options.AllowMissingJustification)
                throw await RefuseAsync(EkmError.PermissionDenied, "The request carries no Key Access Justifications reason, and this server refuses such requests (Coffre:Ekm:MissingJustification).");
            if (reason is not null && !key.AllowedReasons.Contains(reason, StringComparer.Ordinal))
                throw await RefuseAsync(EkmError.PermissionDenied, $"The justification '{Short(reason)}' is not allowed for key '{keyName}'.");

            var binding = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["coffre:face"] = "ekm",
                ["ekm:key"] = keyName,
                ["ekm:aad_sha256"] = Convert.ToHexStringLower(SHA256.HashData(aad)),
            };
            recorded.Remove("ekm:key");
            try
            {
                if (operation == "wrap")
                {
                    w.WriteBase64String("wrappedBlob", await keys.EncryptAsync(key.Key, input, binding, principal, recorded));
                }
                else
                {
                    var result = await keys.DecryptAsync(input, binding, principal, key.Key, recorded);
                    w.WriteBase64String("plaintext", result.Plaintext);
                    CryptographicOperations.ZeroMemory(result.Plaintext);
                }
            }
            catch (KmsException e)
            {
                throw new EkmException(EkmErrors.From(e.Error), e.Message);
            }
        }
        finally
        {
            if (input is not null) CryptographicOperations.ZeroMemory(input);
        }
    }

    private static byte[]? Bytes(JsonElement root, string name, int max, bool required)
    {
        if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
            return required ? throw new EkmException(EkmError.InvalidArgument, $"The member '{name}' is required.") : null;
        if (v.ValueKind != JsonValueKind.String || !v.TryGetBytesFromBase64(out var bytes))
            throw new EkmException(EkmError.InvalidArgument, $"The member '{name}' is not base64.");
        if (bytes.Length > max) throw new EkmException(EkmError.InvalidArgument, $"The member '{name}' is longer than {max} bytes.");
        if (required && bytes.Length == 0) throw new EkmException(EkmError.InvalidArgument, $"The member '{name}' is empty.");
        return bytes;
    }

    private static string Short(string s) => s.Length <= 80 ? s : s[..80] + "...";
}
