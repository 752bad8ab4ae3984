using System.Security.Cryptography;
using System.Text;

namespace Coffre.Kms.Root;

/// <summary>
/// One Shamir share of a root seal's seal key, as officers keep and type it (docs/format.md §6.5):
/// <c>coffre-share:</c> + base64url(u8 1 || u8 threshold || u8 index || 32-byte value || 4-byte checksum). The
/// checksum catches a mistyped share on its own; the seal file's digest of each share catches a forged one.
/// </summary>
public sealed class UnsealShare : IDisposable
{
    public const string Prefix = "coffre-share:";
    public const byte FormatVersion = 1;
    public const int ValueSize = 32;
    private const int ChecksumSize = 4;
    private const int EncodedSize = 3 + ValueSize + ChecksumSize;

    public int Threshold { get; }
    public byte Index { get; }

    /// <summary>The share's value (pinned, zeroed on dispose).</summary>
    public byte[] Value { get; }

    public UnsealShare(int threshold, byte index, byte[] pinnedValue)
    {
        Threshold = threshold;
        Index = index;
        Value = pinnedValue;
    }

    public string Encode()
    {
        var bytes = new byte[EncodedSize];
        bytes[0] = FormatVersion;
        bytes[1] = (byte)Threshold;
        bytes[2] = Index;
        Value.CopyTo(bytes, 3);
        Checksum(bytes.AsSpan(0, 3 + ValueSize)).CopyTo(bytes.AsSpan(3 + ValueSize));
        var text = Prefix + Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        CryptographicOperations.ZeroMemory(bytes);
        return text;
    }

    /// <summary>Parses a share as typed (surrounding white space ignored); throws <see cref="KmsError.InvalidShare"/>
    /// naming what is wrong, never the share.</summary>
    public static UnsealShare Decode(string text)
    {
        text = text.Trim();
        if (!text.StartsWith(Prefix, StringComparison.Ordinal))
            throw Invalid($"it does not start with '{Prefix}'");
        var body = text[Prefix.Length..].Replace('-', '+').Replace('_', '/');
        body += new string('=', (4 - body.Length % 4) % 4);
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(body);
        }
        catch (FormatException)
        {
            throw Invalid("it is not base64url");
        }
        try
        {
            if (bytes.Length != EncodedSize) throw Invalid($"it holds {bytes.Length} bytes, not {EncodedSize}");
            if (bytes[0] != FormatVersion) throw Invalid($"share format {bytes[0]} is not supported");
            if (!CryptographicOperations.FixedTimeEquals(Checksum(bytes.AsSpan(0, 3 + ValueSize)), bytes.AsSpan(3 + ValueSize)))
                throw Invalid("its checksum does not match (a character was mistyped or changed)");
            if (bytes[2] == 0 || bytes[1] < ShamirSecret.MinimumThreshold)
                throw Invalid("its index or threshold is out of range");
            var value = GC.AllocateArray<byte>(ValueSize, pinned: true);
            bytes.AsSpan(3, ValueSize).CopyTo(value);
            return new UnsealShare(bytes[1], bytes[2], value);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>What the seal file records of share <paramref name="index"/>: SHA-256("coffre-share-digest" ||
    /// lp(deployment id) || u8 index || value). The value is 32 uniformly random bytes, so the digest reveals nothing of it.</summary>
    public static byte[] Digest(string deploymentId, byte index, ReadOnlySpan<byte> value)
    {
        var id = Encoding.UTF8.GetBytes(deploymentId);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData("coffre-share-digest"u8);
        Span<byte> length = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(length, (uint)id.Length);
        sha.AppendData(length);
        sha.AppendData(id);
        sha.AppendData([index]);
        sha.AppendData(value);
        return sha.GetHashAndReset();
    }

    private static byte[] Checksum(ReadOnlySpan<byte> content) =>
        SHA256.HashData([.. "coffre-share"u8, .. content])[..ChecksumSize];

    internal static KmsException Invalid(string why) =>
        new(KmsError.InvalidShare, $"The unseal share is refused: {why}. Check the share and submit it again.");

    public void Dispose() => CryptographicOperations.ZeroMemory(Value);

    public override string ToString() => $"UnsealShare(index {Index} of threshold {Threshold})"; // never the value
}
