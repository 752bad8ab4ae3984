using System.Text;
using System.Text.Json;

namespace Coffre.Server.Xks;

/// <summary>
/// The JSON body of an XKS proxy request, parsed and checked against the spec: requestMetadata (recorded in the audit
/// trail, never interpreted beyond its required members), and the Base64 fields of Encrypt and Decrypt.
/// A malformed body is ValidationException; a field beyond Coffre's sizes is UnsupportedOperationException, as the
/// spec asks of an implementation limit.
/// </summary>
public sealed class XksRequest
{
    /// <summary>The spec's minimum sizes, which are Coffre's maximums: plaintext and ciphertext 4300 bytes, AAD 8192.</summary>
    public const int MaxPlaintext = 4300;
    public const int MaxAssociatedData = 8192;
    public const string Algorithm = "AES_GCM";
    public const string IntegrityAlgorithm = "SHA_256";

    /// <summary>requestMetadata's string members, in the order sent (all of them: AWS KMS may add fields, and each helps an audit).</summary>
    public IReadOnlyList<(string Name, string Value)> Metadata { get; private init; } = [];
    public byte[]? Plaintext { get; private init; }
    public byte[]? Ciphertext { get; private init; }
    public byte[]? AssociatedData { get; private init; }
    public byte[]? CiphertextMetadata { get; private init; }
    public byte[]? InitializationVector { get; private init; }
    public byte[]? AuthenticationTag { get; private init; }
    public bool IntegrityValueRequested { get; private init; }

    public string? MetadataValue(string name) => Metadata.FirstOrDefault(m => m.Name == name).Value;

    public static XksRequest Parse(ReadOnlyMemory<byte> body, XksOperation operation)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Invalid($"The request body is not JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Invalid("The request body is not a JSON object.");
            if (!root.TryGetProperty("requestMetadata", out var meta) || meta.ValueKind != JsonValueKind.Object)
                throw Invalid("requestMetadata is missing or not an object.");
            var metadata = meta.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String)
                .Select(p => (p.Name, p.Value.GetString()!)).ToList();
            string[] required = operation switch
            {
                XksOperation.GetHealthStatus => ["kmsRequestId", "kmsOperation"],
                XksOperation.GetKeyMetadata => ["awsPrincipalArn", "kmsOperation", "kmsRequestId"],
                _ => ["awsPrincipalArn", "kmsKeyArn", "kmsOperation", "kmsRequestId"],
            };
            foreach (var name in required)
                if (!metadata.Any(m => m.Name == name))
                    throw Invalid($"requestMetadata.{name} is required for {operation}.");

            return operation switch
            {
                XksOperation.Encrypt => new XksRequest
                {
                    Metadata = metadata,
                    Plaintext = Base64(root, "plaintext", required: true, MaxPlaintext),
                    AssociatedData = Base64(root, "additionalAuthenticatedData", required: false, MaxAssociatedData),
                    IntegrityValueRequested = CheckAlgorithms(root, withIntegrity: true),
                },
                XksOperation.Decrypt => new XksRequest
                {
                    Metadata = metadata,
                    Ciphertext = Base64(root, "ciphertext", required: true, MaxPlaintext),
                    AssociatedData = Base64(root, "additionalAuthenticatedData", required: false, MaxAssociatedData),
                    CiphertextMetadata = Base64(root, "ciphertextMetadata", required: false, XksCiphertext.MaxMetadataLength),
                    InitializationVector = Base64(root, "initializationVector", required: true, 16),
                    AuthenticationTag = Base64(root, "authenticationTag", required: true, 16),
                    IntegrityValueRequested = CheckAlgorithms(root, withIntegrity: false),
                },
                _ => new XksRequest { Metadata = metadata },
            };
        }
    }

    /// <summary>encryptionAlgorithm must be AES_GCM; ciphertextDataIntegrityValueAlgorithm, when present (Encrypt), SHA_256.</summary>
    private static bool CheckAlgorithms(JsonElement root, bool withIntegrity)
    {
        var algorithm = String(root, "encryptionAlgorithm") ?? throw Invalid("encryptionAlgorithm is required.");
        if (algorithm != Algorithm) throw Invalid($"encryptionAlgorithm '{Short(algorithm)}' is not {Algorithm}.");
        if (!withIntegrity) return false;
        var integrity = String(root, "ciphertextDataIntegrityValueAlgorithm");
        if (integrity is not null && integrity != IntegrityAlgorithm)
            throw Invalid($"ciphertextDataIntegrityValueAlgorithm '{Short(integrity)}' is not {IntegrityAlgorithm}.");
        return integrity is not null;
    }

    private static string? String(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw Invalid($"{name} is not a string.");
    }

    private static byte[]? Base64(JsonElement root, string name, bool required, int maxBytes)
    {
        var text = String(root, name);
        if (text is null) return required ? throw Invalid($"{name} is required.") : null;
        var bytes = new byte[text.Length * 3 / 4 + 3];
        if (!Convert.TryFromBase64String(text, bytes, out var n)) throw Invalid($"{name} is not Base64.");
        if (n > maxBytes)
            throw new XksFaceException(XksError.UnsupportedOperationException, $"{name} is {n} bytes; Coffre takes at most {maxBytes}.");
        return bytes[..n];
    }

    private static XksFaceException Invalid(string message) => new(XksError.ValidationException, message);

    private static string Short(string s) => s.Length <= 40 ? s : s[..40] + "...";

    /// <summary>The audit context of a call: the face, the store's prefix, the external key id and every requestMetadata
    /// member (prefixed "xks:"), and for a refusal the XKS error name and why.</summary>
    public static string AuditContext(string? prefix, string? externalKeyId, IReadOnlyList<(string Name, string Value)> metadata,
        XksError? error = null, string? reason = null)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString(Coffre.Kms.Audit.AuditFace.ContextMember, XksFace.FaceName);
            if (prefix is not null) json.WriteString("xks:uriPrefix", prefix);
            if (externalKeyId is not null) json.WriteString("xks:externalKeyId", externalKeyId);
            foreach (var (name, value) in metadata) json.WriteString("xks:" + name, value);
            if (error is { } e) json.WriteString("xks:error", e.ToString());
            if (reason is not null) json.WriteString("coffre:reason", reason);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
