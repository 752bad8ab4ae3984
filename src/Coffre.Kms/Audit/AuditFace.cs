using System.Text.Json;

namespace Coffre.Kms.Audit;

/// <summary>
/// The protocol face an audit record came through: the context member <see cref="ContextMember"/> each face writes
/// (docs/architecture.md, "Faces in the audit trail"), so that one filter and one grouping cover every face.
/// </summary>
public static class AuditFace
{
    public const string ContextMember = "coffre:face";

    public const string S3 = "s3";
    public const string Kms = "kms";
    public const string Xks = "xks";
    public const string Cse = "cse";
    public const string Ekm = "ekm";
    public const string Dke = "dke";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [S3, Kms, Xks, Cse, Ekm, Dke, Admin];

    private static readonly Dictionary<string, IReadOnlyDictionary<string, string>> Members =
        All.ToDictionary(f => f, f => (IReadOnlyDictionary<string, string>)new Dictionary<string, string> { [ContextMember] = f });

    /// <summary>The one audit-only member naming <paramref name="face"/> (one of <see cref="All"/>), for the key manager's
    /// <c>recorded</c> parameters: recorded beside the context, never bound into a ciphertext.</summary>
    public static IReadOnlyDictionary<string, string> Recorded(string face) => Members[face];

    /// <summary>The face a record's context names, or null when it names none (or is not a JSON object).</summary>
    public static string? Of(string? context)
    {
        if (context is null || !context.Contains(ContextMember, StringComparison.Ordinal)) return null;
        try
        {
            using var doc = JsonDocument.Parse(context);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(ContextMember, out var face)
                && face.ValueKind == JsonValueKind.String ? face.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
