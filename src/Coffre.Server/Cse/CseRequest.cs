using System.Text.Json;

namespace Coffre.Server.Cse;

/// <summary>The members of a key service request body (every operation's; each reads those it needs), with their documented bounds.</summary>
public sealed class CseRequest
{
    private const int MaxReasonBytes = 1024;
    private readonly Dictionary<string, string> _members = new(StringComparer.Ordinal);
    private readonly HashSet<string> _notStrings = new(StringComparer.Ordinal);

    public static CseRequest Parse(ReadOnlySpan<byte> body)
    {
        var request = new CseRequest();
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 4 });
            using var doc = JsonDocument.ParseValue(ref reader);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new CseException(CseError.BadRequest, "The request body is not a JSON object.");
            foreach (var member in doc.RootElement.EnumerateObject())
            {
                // Every documented member is a string; a null member is absent. Members this face does not read are
                // ignored whatever their type, so that a member Google adds later does not break requests.
                if (member.Value.ValueKind == JsonValueKind.String) request._members[member.Name] = member.Value.GetString()!;
                else if (member.Value.ValueKind != JsonValueKind.Null) request._notStrings.Add(member.Name);
            }
        }
        catch (JsonException e)
        {
            throw new CseException(CseError.BadRequest, $"The request body is not valid JSON ({e.Message}).");
        }
        return request;
    }

    public string? Optional(string name) =>
        _notStrings.Contains(name) ? throw new CseException(CseError.BadRequest, $"The member '{name}' is not a string.") : _members.GetValueOrDefault(name);

    public string Required(string name) =>
        Optional(name) is { Length: > 0 } v ? v : throw new CseException(CseError.BadRequest, $"The member '{name}' is required.");

    /// <summary>The passthrough reason, at most 1 KB as documented; recorded in the audit trail as given.</summary>
    public string Reason
    {
        get
        {
            var reason = Optional("reason") ?? "";
            return System.Text.Encoding.UTF8.GetByteCount(reason) <= MaxReasonBytes ? reason
                : throw new CseException(CseError.BadRequest, $"The member 'reason' is longer than {MaxReasonBytes} bytes.");
        }
    }

    public byte[] Base64(string name, int maxBytes)
    {
        var text = Required(name);
        var bytes = new byte[(text.Length * 3 + 3) / 4];
        if (!Convert.TryFromBase64String(text, bytes, out var n))
            throw new CseException(CseError.BadRequest, $"The member '{name}' is not base64.");
        var result = bytes[..n];
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(bytes); // may hold a data key
        if (n > maxBytes) throw new CseException(CseError.BadRequest, $"The member '{name}' is longer than {maxBytes} bytes.");
        return result;
    }
}
