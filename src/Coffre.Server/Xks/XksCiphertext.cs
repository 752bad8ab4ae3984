using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Coffre.Server.Xks;

/// <summary>
/// What the XKS face puts around AES-GCM (docs/xks.md): the ciphertextMetadata that names the Coffre key version, the
/// AES-GCM associated data the spec builds from the caller's AAD and that metadata, and the ciphertext data integrity
/// value. Pure functions: the test vectors of docs/xks.md are checked against them and by tools/verify_xks_vectors.py.
/// </summary>
public static class XksCiphertext
{
    /// <summary>Format of <see cref="Metadata"/>; a later layout gets another number, so older ciphertexts keep decrypting.</summary>
    public const byte MetadataFormat = 1;
    public const int MetadataLength = 5;
    /// <summary>The spec's limits: ciphertextMetadata at most 20 bytes, AAD length written on 2 bytes.</summary>
    public const int MaxMetadataLength = 20;
    public const int MaxAssociatedDataLength = ushort.MaxValue;

    /// <summary>ciphertextMetadata = 01 || u32 big-endian key version (5 bytes).</summary>
    public static byte[] Metadata(int keyVersion)
    {
        var metadata = new byte[MetadataLength];
        metadata[0] = MetadataFormat;
        BinaryPrimitives.WriteUInt32BigEndian(metadata.AsSpan(1), checked((uint)keyVersion));
        return metadata;
    }

    /// <summary>The key version <see cref="Metadata"/> names, or null when the bytes are not Coffre's (altered, or never
    /// made here): an invalid ciphertext.</summary>
    public static int? KeyVersion(ReadOnlySpan<byte> metadata)
    {
        if (metadata.Length != MetadataLength || metadata[0] != MetadataFormat) return null;
        var version = BinaryPrimitives.ReadUInt32BigEndian(metadata[1..]);
        return version is 0 or > int.MaxValue ? null : (int)version;
    }

    /// <summary>
    /// The AES-GCM associated data of the spec (Encrypt, ciphertextMetadata):
    /// u16 big-endian length of the AAD || AAD || u8 length of the metadata || metadata. The lengths keep an AAD that
    /// ends like the metadata, or metadata moved into the AAD, from verifying.
    /// </summary>
    public static byte[] AssociatedData(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> metadata)
    {
        if (aad.Length > MaxAssociatedDataLength) throw new ArgumentOutOfRangeException(nameof(aad), "The AAD length must fit in 2 bytes.");
        if (metadata.Length > MaxMetadataLength) throw new ArgumentOutOfRangeException(nameof(metadata), "ciphertextMetadata is at most 20 bytes.");
        var result = new byte[2 + aad.Length + 1 + metadata.Length];
        BinaryPrimitives.WriteUInt16BigEndian(result, (ushort)aad.Length);
        aad.CopyTo(result.AsSpan(2));
        result[2 + aad.Length] = (byte)metadata.Length;
        metadata.CopyTo(result.AsSpan(3 + aad.Length));
        return result;
    }

    /// <summary>ciphertextDataIntegrityValue with SHA_256: SHA-256(AAD || ciphertextMetadata || IV || ciphertext || tag),
    /// absent fields contributing nothing (spec, Appendix C).</summary>
    public static byte[] IntegrityValue(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> metadata, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> ciphertext,
        ReadOnlySpan<byte> tag)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(aad);
        sha.AppendData(metadata);
        sha.AppendData(iv);
        sha.AppendData(ciphertext);
        sha.AppendData(tag);
        return sha.GetHashAndReset();
    }
}
