using System.Security.Cryptography;

namespace Coffre.Kms.Keys;

/// <summary>Lifecycle state of a named key.</summary>
public enum KeyState
{
    Enabled,
    Disabled,
    PendingDestruction,
    Destroyed,
}

/// <summary>State of one version of a key.</summary>
public enum KeyVersionState
{
    Enabled,
    Disabled,
    Destroyed,
}

/// <summary>Public description of a key version (never its material).</summary>
public sealed record KeyVersionInfo(int Version, KeyVersionState State, DateTimeOffset Created);

/// <summary>Public description of a key (never its material).</summary>
public sealed record KeyInfo(
    string Id,
    string Name,
    string? Description,
    DateTimeOffset Created,
    KeyState State,
    int PrimaryVersion,
    int MinimumDecryptionVersion,
    TimeSpan? RotationPeriod,
    DateTimeOffset? NextRotation,
    DateTimeOffset? DestructionDate,
    IReadOnlyDictionary<string, string> Tags,
    IReadOnlyList<KeyVersionInfo> Versions,
    IReadOnlyList<string> Aliases,
    KeySpec Spec = KeySpec.SymmetricDefault,
    KeyUsage Usage = KeyUsage.EncryptDecrypt);

/// <summary>An alias (always "alias/...") and the key it points to.</summary>
public sealed record AliasInfo(string Alias, string KeyId, string KeyName, DateTimeOffset Created);

/// <summary>A data key wrapped by one version of a key: the 61-byte blob of docs/format.md §3.</summary>
public sealed record WrappedDataKey(string KeyId, int KeyVersion, byte[] Blob)
{
    public override string ToString() => $"WrappedDataKey({KeyId} v{KeyVersion}, {Blob.Length} bytes)";
}

/// <summary>A result whose audit record is queued but maybe not yet durable: <see cref="Recorded"/> completes when it
/// is (or faults with <see cref="KmsError.AuditUnavailable"/>). Nothing made with <see cref="Value"/> may be
/// answered or committed before it completes.</summary>
public readonly record struct AuditPending<T>(T Value, Task Recorded);

/// <summary>A freshly generated data key: the plaintext (zeroed by <see cref="Dispose"/>) and its wrapped form.</summary>
public sealed class DataKey : IDisposable
{
    private readonly byte[] _plaintext;

    internal DataKey(byte[] plaintext, WrappedDataKey wrapped)
    {
        _plaintext = plaintext;
        Wrapped = wrapped;
    }

    /// <summary>The 32-byte data key. Use it, then dispose this object.</summary>
    public ReadOnlySpan<byte> Plaintext => _plaintext;

    public WrappedDataKey Wrapped { get; }

    public void Dispose() => CryptographicOperations.ZeroMemory(_plaintext);

    public override string ToString() => $"DataKey(wrapped by {Wrapped.KeyId} v{Wrapped.KeyVersion})";
}
