using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Coffre.Objects.Versions;

/// <summary>
/// Object version ids. Opaque to clients; a new id is 16 hex digits of (long.MaxValue − Unix milliseconds), so later
/// ids sort first, then 16 random hex digits, so ids are unique without coordination between instances. The order
/// of versions in a listing is the catalog's commit order, not the ids' (clocks of several instances may disagree).
/// </summary>
public static class VersionIds
{
    /// <summary>The version of an object written while its bucket was unversioned or suspended (S3's literal "null").</summary>
    public const string Null = "null";

    private const int Length = 32;

    public static string New(TimeProvider time)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteInt64BigEndian(bytes, long.MaxValue - time.GetUtcNow().ToUnixTimeMilliseconds());
        RandomNumberGenerator.Fill(bytes[8..]);
        return Convert.ToHexStringLower(bytes);
    }

    /// <summary>True for "null" and for ids of the shape <see cref="New"/> makes: anything else cannot name a version.</summary>
    public static bool IsWellFormed(string id) =>
        id == Null || (id.Length == Length && id.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f'));
}
