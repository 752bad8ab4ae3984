using System.Security.Cryptography;
using System.Text.Json;
using Coffre.Kms;
using Coffre.Kms.Keys;
using Coffre.Server.Tokens;

namespace Coffre.Server.Cse;

/// <summary>
/// The key service operations: each validates the tokens its documentation names, applies the role, email, perimeter and
/// privileged-user rules, then wraps or unwraps through the key manager, which records the answer (or its refusal) with
/// the caller as principal and the request's details as audit-only context members (<c>coffre:face</c> = cse,
/// <c>cse:operation</c>, <c>cse:role</c>, <c>cse:reason</c>). A refusal made here is recorded too, with <c>cse:refusal</c>.
/// </summary>
public sealed class CseOperations(CseOptions options, KeyManager keys, BearerTokens authorization, BearerTokens authentication)
{
    /// <summary>Principal of a refusal before any token was verified.</summary>
    public const string Unauthenticated = "cse:unauthenticated";
    public const int MaxDataKeyBytes = 128;

    /// <summary>
    /// The roles of an authorization token each operation accepts. Documented: "writer" may wrap and unwrap, "reader" may
    /// unwrap. Inferred (docs/hyok.md): "upgrader" as "writer", "migrator" for rewrap, "verifier" for digest.
    /// </summary>
    private static readonly Dictionary<string, string[]> Roles = new(StringComparer.Ordinal)
    {
        ["wrap"] = ["writer", "upgrader"],
        ["unwrap"] = ["reader", "writer", "upgrader"],
        ["rewrap"] = ["migrator"],
        ["digest"] = ["verifier"],
    };

    public static readonly string[] Names = ["wrap", "unwrap", "rewrap", "digest", "privilegedwrap", "privilegedunwrap", "status"];

    /// <summary>What an operation learns about its caller as it goes, for the audit record of its answer or refusal.</summary>
    private sealed class Call(string operation, CseRequest request)
    {
        public string Operation { get; } = operation;
        public CseRequest Request { get; } = request;
        public string Principal = Unauthenticated;
        public readonly Dictionary<string, string> Recorded = new(StringComparer.Ordinal) { ["cse:operation"] = operation };
    }

    public async Task WrapAsync(CseRequest request, Utf8JsonWriter w, CancellationToken cancel)
    {
        var call = new Call("wrap", request);
        var (resource, perimeter) = await AuthorizeUserAsync(call, cancel);
        var key = Guard(call, () => request.Base64("key", MaxDataKeyBytes));
        try
        {
            w.WriteString("wrapped_key", Convert.ToBase64String(await WrapAsync(call, key, resource, perimeter)));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    public async Task UnwrapAsync(CseRequest request, Utf8JsonWriter w, CancellationToken cancel)
    {
        var call = new Call("unwrap", request);
        var (resource, _) = await AuthorizeUserAsync(call, cancel);
        var key = await UnwrapAsync(call, resource, checkPerimeter: true);
        try
        {
            w.WriteBase64String("key", key.DataKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key.DataKey);
        }
    }

    /// <summary>Migration: a data key wrapped by this service (under this URL or an earlier one) wrapped again under the key's
    /// primary version; answers the resource key hash so Google can check it is the same data key.</summary>
    public async Task RewrapAsync(CseRequest request, Utf8JsonWriter w, CancellationToken cancel)
    {
        var call = new Call("rewrap", request);
        var token = await AuthorizationAsync(call, cancel);
        var original = Guard(call, () => request.Required("original_kacls_url"));
        if (!SameUrl(original, options.Url!) && !options.PreviousUrls.Any(u => SameUrl(original, u)))
            throw Refuse(call, CseError.Forbidden, $"original_kacls_url '{Short(original)}' is not this service nor one of its previous URLs: only keys this service wrapped can be rewrapped here.");
        var resource = token.Claim("resource_name")!;
        var key = await UnwrapAsync(call, resource, checkPerimeter: false);
        try
        {
            w.WriteString("wrapped_key", Convert.ToBase64String(await WrapAsync(call, key.DataKey, resource, key.PerimeterId)));
            w.WriteBase64String("resource_key_hash", ResourceKeyHash.Compute(key.DataKey, resource, key.PerimeterId));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key.DataKey);
        }
    }

    public async Task DigestAsync(CseRequest request, Utf8JsonWriter w, CancellationToken cancel)
    {
        var call = new Call("digest", request);
        var token = await AuthorizationAsync(call, cancel);
        var resource = token.Claim("resource_name")!;
        var key = await UnwrapAsync(call, resource, checkPerimeter: false);
        try
        {
            w.WriteBase64String("resource_key_hash", ResourceKeyHash.Compute(key.DataKey, resource, key.PerimeterId));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key.DataKey);
        }
    }

    /// <summary>Bulk import by an administrator: an authentication token alone, from a caller listed in PrivilegedUsers.</summary>
    public async Task PrivilegedWrapAsync(CseRequest request, Utf8JsonWriter w, CancellationToken cancel)
    {
        var call = new Call("privilegedwrap", request);
        await PrivilegedAsync(call, cancel);
        var (resource, perimeter) = Guard(call, () => (Id(request.Required("resource_name"), "resource_name"), Id(request.Optional("perimeter_id") ?? "", "perimeter_id")));
        var key = Guard(call, () => request.Base64("key", MaxDataKeyBytes));
        try
        {
            w.WriteString("wrapped_key", Convert.ToBase64String(await WrapAsync(call, key, resource, perimeter)));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Decryption of exported data (Takeout) by an administrator: no authorization token, no perimeter rule; the
    /// resource name still has to be the one the data key was wrapped for.</summary>
    public async Task PrivilegedUnwrapAsync(CseRequest request, Utf8JsonWriter w, CancellationToken cancel)
    {
        var call = new Call("privilegedunwrap", request);
        await PrivilegedAsync(call, cancel);
        var resource = Guard(call, () => Id(request.Required("resource_name"), "resource_name"));
        var key = await UnwrapAsync(call, resource, checkPerimeter: false);
        try
        {
            w.WriteBase64String("key", key.DataKey);
            w.WriteString("perimeter_id", key.PerimeterId);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key.DataKey);
        }
    }

    /// <summary>Status, with the self-check the documentation suggests: the Coffre key exists and is enabled (unaudited, as
    /// health checks are).</summary>
    public void Status(Utf8JsonWriter w)
    {
        if (!keys.IsEnabled(options.Key))
            throw new CseException(CseError.KeyUnavailable, $"The key '{options.Key}' this service wraps with is missing or not enabled.");
        w.WriteString("server_type", "KACLS");
        w.WriteString("vendor_id", "Coffre");
        w.WriteString("version", typeof(CseOperations).Assembly.GetName().Version?.ToString() ?? "0");
        w.WriteString("name", options.Name);
        w.WriteStartArray("operations_supported");
        foreach (var name in Names) w.WriteStringValue(name);
        w.WriteEndArray();
    }

    // ---- tokens and rules -------------------------------------------------------------------

    /// <summary>Both tokens of a user operation (wrap, unwrap), the emails compared, the perimeter rule for wrap.</summary>
    private async Task<(string Resource, string Perimeter)> AuthorizeUserAsync(Call call, CancellationToken cancel)
    {
        var authz = await AuthorizationAsync(call, cancel);
        var authn = await TokenAsync(call, authentication, "authentication", "authentication token", cancel);
        // The documentation: the authentication token's google_email when present, else its email, equals the authorization
        // token's email, case-insensitively.
        var identity = authn.Claim("google_email") ?? authn.Claim("email");
        if (identity is null || !string.Equals(identity, call.Principal, StringComparison.OrdinalIgnoreCase))
        {
            call.Recorded["cse:authentication_email"] = identity ?? "";
            throw Refuse(call, CseError.Forbidden, "The authentication and authorization tokens are not for the same user (their emails differ).");
        }
        var resource = authz.Claim("resource_name")!;
        var perimeter = call.Recorded["cse:perimeter_id"];
        if (call.Operation == "wrap") CheckPerimeter(call, perimeter);
        return (resource, perimeter);
    }

    private async Task<ValidToken> AuthorizationAsync(Call call, CancellationToken cancel)
    {
        var token = await TokenAsync(call, authorization, "authorization", "authorization token", cancel);
        var email = token.Claim("email");
        if (string.IsNullOrEmpty(email)) throw Refuse(call, CseError.Unauthenticated, "The authorization token carries no email.");
        call.Principal = email;
        var role = token.Claim("role") ?? "";
        call.Recorded["cse:role"] = role;
        var resource = token.Claim("resource_name");
        var perimeter = token.Claim("perimeter_id") ?? "";
        if (resource is not null) call.Recorded["cse:resource_name"] = resource;
        call.Recorded["cse:perimeter_id"] = perimeter;
        if (!SameUrl(token.Claim("kacls_url"), options.Url!))
            throw Refuse(call, CseError.Unauthenticated, $"The authorization token was issued for another key service (kacls_url '{Short(token.Claim("kacls_url"))}').");
        if (!Roles[call.Operation].Contains(role, StringComparer.Ordinal))
            throw Refuse(call, CseError.Forbidden, $"The role '{Short(role)}' may not {call.Operation} (allowed: {string.Join(", ", Roles[call.Operation])}).");
        Guard(call, () => Id(resource ?? throw new CseException(CseError.BadRequest, "The authorization token carries no resource_name."), "resource_name"));
        Guard(call, () => Id(perimeter, "perimeter_id"));
        return token;
    }

    private async Task PrivilegedAsync(Call call, CancellationToken cancel)
    {
        var token = await TokenAsync(call, authentication, "authentication", "authentication token", cancel);
        var email = token.Claim("google_email") ?? token.Claim("email");
        if (string.IsNullOrEmpty(email)) throw Refuse(call, CseError.Unauthenticated, "The authentication token carries no email.");
        call.Principal = email;
        if (!CallerPatterns.Matches(options.PrivilegedUsers, email))
            throw Refuse(call, CseError.Forbidden, $"'{Short(email)}' is not allowed {call.Operation} (Coffre:Cse:PrivilegedUsers).");
    }

    private async Task<ValidToken> TokenAsync(Call call, BearerTokens issuers, string member, string what, CancellationToken cancel)
    {
        try
        {
            call.Recorded["cse:reason"] = call.Request.Reason;
            return await issuers.ValidateAsync(call.Request.Optional(member), what, cancel);
        }
        catch (TokenException e)
        {
            throw Refuse(call, CseError.Unauthenticated, e.Message);
        }
        catch (CseException e)
        {
            throw Refuse(call, e.Error, e.Message);
        }
    }

    /// <summary>The perimeter rule: the caller must be listed for the perimeter (or for "*").</summary>
    private void CheckPerimeter(Call call, string perimeter)
    {
        if (options.Perimeters.Count == 0) return;
        var callers = perimeter.Length > 0 && options.Perimeters.TryGetValue(perimeter, out var listed) ? listed
            : options.Perimeters.GetValueOrDefault("*");
        if (callers is null || !CallerPatterns.Matches(callers, call.Principal))
            throw Refuse(call, CseError.Forbidden, $"The perimeter rule refuses '{Short(call.Principal)}' in perimeter '{Short(perimeter)}'.");
    }

    // ---- the key manager ---------------------------------------------------------------------

    private async Task<byte[]> WrapAsync(Call call, byte[] dataKey, string resource, string perimeter)
    {
        if (dataKey.Length == 0) throw Refuse(call, CseError.BadRequest, "The member 'key' is empty.");
        try
        {
            var blob = await keys.EncryptAsync(options.Key, dataKey, CseWrappedKey.Binding(resource, perimeter), call.Principal, Recorded(call));
            return CseWrappedKey.Encode(perimeter, blob);
        }
        catch (KmsException e)
        {
            throw new CseException(CseErrors.From(e.Error), e.Message);
        }
    }

    private async Task<(byte[] DataKey, string PerimeterId)> UnwrapAsync(Call call, string resource, bool checkPerimeter)
    {
        var wrapped = Guard(call, () => call.Request.Base64("wrapped_key", CseWrappedKey.MaxBytes));
        var (perimeter, blob) = Guard(call, () => CseWrappedKey.Decode(wrapped));
        // The rule applies to the perimeter the key was wrapped in (bound to it), whatever the token now says.
        if (checkPerimeter) CheckPerimeter(call, perimeter);
        try
        {
            var result = await keys.DecryptAsync(blob, CseWrappedKey.Binding(resource, perimeter), call.Principal, options.Key, Recorded(call));
            return (result.Plaintext, perimeter);
        }
        catch (KmsException e)
        {
            throw new CseException(CseErrors.From(e.Error), e.Message);
        }
    }

    /// <summary>The audit-only members; the face, resource and perimeter are in the context the ciphertext is bound to.</summary>
    private static Dictionary<string, string> Recorded(Call call)
    {
        var recorded = new Dictionary<string, string>(call.Recorded, StringComparer.Ordinal);
        recorded.Remove("cse:resource_name");
        recorded.Remove("cse:perimeter_id");
        return recorded;
    }

    /// <summary>Runs a check whose failure is the client's, recording the refusal.</summary>
    private T Guard<T>(Call call, Func<T> check)
    {
        try
        {
            return check();
        }
        catch (CseException e)
        {
            throw Refuse(call, e.Error, e.Message);
        }
    }

    /// <summary>A refusal made by this face, to throw; the face records it (no audit, no answer: 503 if it cannot be
    /// written) before answering.</summary>
    private CseException Refuse(Call call, CseError error, string message)
    {
        var context = new Dictionary<string, string>(call.Recorded, StringComparer.Ordinal)
        {
            ["coffre:face"] = "cse",
            ["cse:refusal"] = message,
        };
        var principal = call.Principal;
        return new CseException(error, message, async () =>
        {
            var recorded = await keys.RecordDeniedAsync(KeyManagerOperation(call.Operation), options.Key, principal, error.ToString(),
                EncryptionContext.Json(context)).ConfigureAwait(false);
            return recorded.Error == KmsError.AuditUnavailable ? new CseException(CseError.Unavailable, recorded.Message) : new CseException(error, message);
        });
    }

    /// <summary>The key manager's name for what an operation does with the key, so that a refusal reads like the answer would.</summary>
    private static string KeyManagerOperation(string operation) => operation is "wrap" or "privilegedwrap" ? "Encrypt" : "Decrypt";

    private static string Id(string value, string member) =>
        System.Text.Encoding.UTF8.GetByteCount(value) <= CseWrappedKey.MaxIdBytes ? value
            : throw new CseException(CseError.BadRequest, $"The {member} is longer than {CseWrappedKey.MaxIdBytes} bytes.");

    private static bool SameUrl(string? a, string b) =>
        a is not null && string.Equals(a.TrimEnd('/'), b.TrimEnd('/'), StringComparison.OrdinalIgnoreCase);

    private static string Short(string? s) => s is null ? "" : s.Length <= 80 ? s : s[..80] + "...";
}
