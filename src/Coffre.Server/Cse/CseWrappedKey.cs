using System.Buffers.Binary;
using System.Text;
using Coffre.Kms.Keys;

namespace Coffre.Server.Cse;

/// <summary>
/// The opaque wrapped_key this face gives Google (docs/hyok.md, "wrapped key"): "CCSE" || 01 || u16(p) || perimeter id
/// (p bytes UTF-8) || the key manager's ciphertext of the data key (docs/format.md §7), encrypted with the context
/// {coffre:face: cse, cse:resource_name, cse:perimeter_id}. The perimeter travels in clear because privilegedunwrap
/// and the perimeter rule need it without an authorization token; the ciphertext's context authenticates it.
/// </summary>
public static class CseWrappedKey
{
    private static ReadOnlySpan<byte> Magic => "CCSE"u8;
    private const byte Version = 1;
    /// <summary>Google stores at most 1 KB.</summary>
    public const int MaxBytes = 1024;
    public const int MaxIdBytes = 128;

    public static byte[] Encode(string perimeterId, ReadOnlySpan<byte> ciphertext)
    {
        var p = Encoding.UTF8.GetBytes(perimeterId);
        var result = new byte[4 + 1 + 2 + p.Length + ciphertext.Length];
        Magic.CopyTo(result);
        result[4] = Version;
        BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(5), checked((ushort)p.Length));
        p.CopyTo(result, 7);
        ciphertext.CopyTo(result.AsSpan(7 + p.Length));
        return result;
    }

    public static (string PerimeterId, byte[] Ciphertext) Decode(byte[] wrapped)
    {
        if (wrapped.Length < 7 || !wrapped.AsSpan(0, 4).SequenceEqual(Magic) || wrapped[4] != Version)
            throw Invalid("it does not start with the Coffre CSE header");
        int p = BinaryPrimitives.ReadUInt16BigEndian(wrapped.AsSpan(5));
        if (p > MaxIdBytes || wrapped.Length <= 7 + p) throw Invalid("its perimeter length is out of bounds");
        string perimeter;
        try
        {
            perimeter = new UTF8Encoding(false, true).GetString(wrapped, 7, p);
        }
        catch (DecoderFallbackException)
        {
            throw Invalid("its perimeter id is not UTF-8");
        }
        return (perimeter, wrapped[(7 + p)..]);
    }

    /// <summary>The context the data key's ciphertext is bound to.</summary>
    public static Dictionary<string, string> Binding(string resourceName, string perimeterId) => new(StringComparer.Ordinal)
    {
        ["coffre:face"] = "cse",
        ["cse:resource_name"] = resourceName,
        ["cse:perimeter_id"] = perimeterId,
    };

    private static CseException Invalid(string why) => new(CseError.InvalidWrappedKey, $"The wrapped key was not made by this service: {why}.");
}
