using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Coffre.Server.Kms;

/// <summary>
/// The union of the request members of the supported operations, parsed in one pass with
/// <see cref="Utf8JsonReader"/> (hot path: no reflection, blobs decoded straight from the UTF-8 bytes).
/// Unknown members are skipped, as AWS does; a member of the wrong JSON type is a SerializationException;
/// invalid base64 in a blob member is a ValidationException.
/// </summary>
public sealed class KmsRequest
{
    public string? KeyId;
    public string? SourceKeyId;
    public string? DestinationKeyId;
    public string? TargetKeyId;
    public string? AliasName;
    public string? Description;
    public string? KeyUsage;
    public string? KeySpec;
    public string? CustomerMasterKeySpec;
    public string? Origin;
    public string? Marker;
    public string? EncryptionAlgorithm;
    public string? SourceEncryptionAlgorithm;
    public string? DestinationEncryptionAlgorithm;
    public string? RotationType;
    public string? Policy;
    public string? MessageType;
    public string? SigningAlgorithm;
    public byte[]? Message;
    public byte[]? Signature;
    public byte[]? Plaintext;
    public byte[]? CiphertextBlob;
    public int? NumberOfBytes;
    public int? Limit;
    public int? PendingWindowInDays;
    public int? RotationPeriodInDays;
    public bool? MultiRegion;
    public bool? DryRun;
    public Dictionary<string, string>? EncryptionContext;
    public Dictionary<string, string>? SourceEncryptionContext;
    public Dictionary<string, string>? DestinationEncryptionContext;
    public List<KeyValuePair<string, string>>? Tags;
    public List<string>? TagKeys;
    public bool HasRecipient;
}

public static class KmsJson
{
    public const string ContentType = "application/x-amz-json-1.1";

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 16 };

    public static KmsRequest Parse(ReadOnlySpan<byte> body)
    {
        var r = new KmsRequest();
        if (body.IsEmpty || body.Trim((byte)' ').IsEmpty) return r; // AWS accepts an empty body as {}
        // Utf8JsonReader checks a string's UTF-8 only when it is read, and then throws InvalidOperationException.
        if (!System.Text.Unicode.Utf8.IsValid(body)) throw Serialization("The request body is not valid UTF-8.");
        var reader = new Utf8JsonReader(body, ReaderOptions);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw Serialization("Start of structure or map found where not expected.");
            while (true)
            {
                Next(ref reader);
                if (reader.TokenType == JsonTokenType.EndObject) break;
                var name = reader.GetString()!;
                Next(ref reader);
                switch (name)
                {
                    case "KeyId": r.KeyId = Str(ref reader, name); break;
                    case "SourceKeyId": r.SourceKeyId = Str(ref reader, name); break;
                    case "DestinationKeyId": r.DestinationKeyId = Str(ref reader, name); break;
                    case "TargetKeyId": r.TargetKeyId = Str(ref reader, name); break;
                    case "AliasName": r.AliasName = Str(ref reader, name); break;
                    case "Description": r.Description = Str(ref reader, name); break;
                    case "KeyUsage": r.KeyUsage = Str(ref reader, name); break;
                    case "KeySpec": r.KeySpec = Str(ref reader, name); break;
                    case "CustomerMasterKeySpec": r.CustomerMasterKeySpec = Str(ref reader, name); break;
                    case "Origin": r.Origin = Str(ref reader, name); break;
                    case "Marker": r.Marker = Str(ref reader, name); break;
                    case "EncryptionAlgorithm": r.EncryptionAlgorithm = Str(ref reader, name); break;
                    case "SourceEncryptionAlgorithm": r.SourceEncryptionAlgorithm = Str(ref reader, name); break;
                    case "DestinationEncryptionAlgorithm": r.DestinationEncryptionAlgorithm = Str(ref reader, name); break;
                    case "RotationType": r.RotationType = Str(ref reader, name); break;
                    case "Policy": r.Policy = Str(ref reader, name); break;
                    case "MessageType": r.MessageType = Str(ref reader, name); break;
                    case "SigningAlgorithm": r.SigningAlgorithm = Str(ref reader, name); break;
                    case "Message": r.Message = Blob(ref reader, name); break;
                    case "Signature": r.Signature = Blob(ref reader, name); break;
                    case "Plaintext": r.Plaintext = Blob(ref reader, name); break;
                    case "CiphertextBlob": r.CiphertextBlob = Blob(ref reader, name); break;
                    case "NumberOfBytes": r.NumberOfBytes = Int(ref reader, name); break;
                    case "Limit": r.Limit = Int(ref reader, name); break;
                    case "PendingWindowInDays": r.PendingWindowInDays = Int(ref reader, name); break;
                    case "RotationPeriodInDays": r.RotationPeriodInDays = Int(ref reader, name); break;
                    case "MultiRegion": r.MultiRegion = Bool(ref reader, name); break;
                    case "DryRun": r.DryRun = Bool(ref reader, name); break;
                    case "EncryptionContext": r.EncryptionContext = Map(ref reader, name); break;
                    case "SourceEncryptionContext": r.SourceEncryptionContext = Map(ref reader, name); break;
                    case "DestinationEncryptionContext": r.DestinationEncryptionContext = Map(ref reader, name); break;
                    case "Tags": r.Tags = TagList(ref reader, name); break;
                    case "TagKeys": r.TagKeys = StrList(ref reader, name); break;
                    case "Recipient": r.HasRecipient = reader.TokenType != JsonTokenType.Null; reader.Skip(); break;
                    default: reader.Skip(); break;
                }
            }
            if (reader.Read())
                throw Serialization("Unexpected content after the request object.");
        }
        catch (JsonException e)
        {
            throw Serialization($"The request body is not valid JSON: {e.Message}");
        }
        catch (InvalidOperationException)
        {
            // Utf8JsonReader checks the UTF-8 of a string only when it is read (GetString), and says so with this type.
            throw Serialization("The request body is not valid JSON: a string holds bytes that are not UTF-8.");
        }
        return r;
    }

    private static void Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read()) throw Serialization("The request body ends early.");
    }

    private static KmsFaceException Serialization(string message) => new(KmsErrors.Serialization, message);

    private static KmsFaceException WrongType(ref Utf8JsonReader reader, string name, string expected) =>
        Serialization($"{TokenName(reader.TokenType)} can not be converted to {expected} (member '{name}').");

    private static string TokenName(JsonTokenType t) => t switch
    {
        JsonTokenType.String => "STRING_VALUE",
        JsonTokenType.Number => "NUMBER_VALUE",
        JsonTokenType.True or JsonTokenType.False => "BOOLEAN_VALUE",
        JsonTokenType.StartObject => "Start of structure or map",
        JsonTokenType.StartArray => "Start of list",
        _ => t.ToString(),
    };

    private static string? Str(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType != JsonTokenType.String) throw WrongType(ref reader, name, "a String");
        return reader.GetString();
    }

    private static int? Int(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType != JsonTokenType.Number) throw WrongType(ref reader, name, "an Integer");
        if (!reader.TryGetInt32(out var v)) throw Serialization($"The value of '{name}' is not a 32-bit integer.");
        return v;
    }

    private static bool? Bool(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False)) throw WrongType(ref reader, name, "a Boolean");
        return reader.GetBoolean();
    }

    private static byte[]? Blob(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType != JsonTokenType.String) throw WrongType(ref reader, name, "a Blob");
        if (!reader.TryGetBytesFromBase64(out var bytes))
            throw new KmsFaceException(KmsErrors.Validation,
                $"1 validation error detected: Value at '{char.ToLowerInvariant(name[0])}{name[1..]}' failed to satisfy constraint: Member must be valid base64 (standard alphabet, padded)");
        return bytes;
    }

    private static Dictionary<string, string>? Map(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType != JsonTokenType.StartObject) throw WrongType(ref reader, name, "a Map");
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject) return map;
            var key = reader.GetString()!;
            Next(ref reader);
            if (reader.TokenType != JsonTokenType.String) throw WrongType(ref reader, name, "a String");
            map[key] = reader.GetString()!;
        }
    }

    private static List<string>? StrList(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType != JsonTokenType.StartArray) throw WrongType(ref reader, name, "a List");
        var list = new List<string>();
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndArray) return list;
            if (reader.TokenType != JsonTokenType.String) throw WrongType(ref reader, name, "a String");
            list.Add(reader.GetString()!);
        }
    }

    private static List<KeyValuePair<string, string>>? TagList(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType != JsonTokenType.StartArray) throw WrongType(ref reader, name, "a List");
        var list = new List<KeyValuePair<string, string>>();
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndArray) return list;
            if (reader.TokenType != JsonTokenType.StartObject) throw WrongType(ref reader, name, "a Tag structure");
            string? key = null, value = null;
            while (true)
            {
                Next(ref reader);
                if (reader.TokenType == JsonTokenType.EndObject) break;
                var member = reader.GetString();
                Next(ref reader);
                switch (member)
                {
                    case "TagKey": key = Str(ref reader, "TagKey"); break;
                    case "TagValue": value = Str(ref reader, "TagValue"); break;
                    default: reader.Skip(); break;
                }
            }
            if (key is null || value is null)
                throw new KmsFaceException(KmsErrors.Validation, "1 validation error detected: every Tag needs a TagKey and a TagValue");
            list.Add(new(key, value));
        }
    }

    // ---- writing ----------------------------------------------------------------------------

    /// <summary>Seconds since the Unix epoch, as AWS JSON timestamps are sent.</summary>
    public static void WriteTime(Utf8JsonWriter w, string name, DateTimeOffset time) =>
        w.WriteNumber(name, Math.Round(time.ToUnixTimeMilliseconds() / 1000.0, 3));

    public static byte[] Error(string type, string message)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("__type", type);
            w.WriteString("message", message);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    internal static string Utf8(ReadOnlySpan<byte> s) => Encoding.UTF8.GetString(s);
}
