namespace Coffre.Objects.Keys;

/// <summary>
/// What the object store needs from the key manager: one data key per object (or multipart upload),
/// wrapped under a named key, and the way back. The composition root adapts Coffre.Kms to it, so this
/// project does not depend on the key store. Every call is audited by the implementation.
/// </summary>
public interface IDataKeyService
{
    /// <summary>A fresh data key wrapped under the primary version of <paramref name="keyRef"/>. Its audit record
    /// may still be committing: await <see cref="DataKeyGrant.Recorded"/> before committing or answering anything made with it.
    /// <paramref name="recorded"/>: members the audit record names beside the context (what the key serves, when the
    /// context does not say it), never bound to the wrapped key.</summary>
    DataKeyGrant GenerateDataKey(string keyRef, IReadOnlyDictionary<string, string> context, string principal, IReadOnlyDictionary<string, string>? recorded = null);

    /// <summary>The plaintext data key; throws <see cref="ObjectStoreException"/> (KeyDisabled, KeyInvalidState, IntegrityFailure) when refused.</summary>
    Task<byte[]> UnwrapDataKeyAsync(WrappedKeyRef wrapped, IReadOnlyDictionary<string, string> context, string principal);

    /// <summary>The same data key, wrapped again under the key's primary version (rotation: metadata only).</summary>
    WrappedKeyRef RewrapDataKey(WrappedKeyRef wrapped, IReadOnlyDictionary<string, string> context, string principal);

    /// <summary>Resolves a key name, alias or id to its immutable id (buckets store the id).</summary>
    string ResolveKeyId(string keyRef);

    /// <summary>The version new data keys are wrapped under.</summary>
    int PrimaryVersion(string keyRef);

    /// <summary>Whether the key is enabled now (not audited: asked of every key in use by the rewrap sweep).</summary>
    bool IsEnabled(string keyRef);
}

/// <summary>A wrapped data key and the key version it is wrapped under.</summary>
public sealed record WrappedKeyRef(string KeyId, int KeyVersion, byte[] Wrapped);

/// <summary>A plaintext data key (the caller zeroes it after use) and its wrapped form.</summary>
public sealed record DataKeyGrant(byte[] Plaintext, WrappedKeyRef Wrapped)
{
    /// <summary>Completes once the grant's audit record is durable; faults with an <see cref="ObjectStoreException"/>
    /// (KeyServiceUnavailable) if it cannot be. Lets the object store encrypt and store a body while the record
    /// commits, instead of one after the other.</summary>
    public Task Recorded { get; init; } = Task.CompletedTask;
}
