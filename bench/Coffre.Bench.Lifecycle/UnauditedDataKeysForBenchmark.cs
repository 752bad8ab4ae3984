using System.Security.Cryptography;
using Coffre.Crypto;
using Coffre.Kms.Keys;
using Coffre.Objects.Keys;

namespace Coffre.Bench.Lifecycle;

/// <summary>
/// BENCHMARK ONLY — never use outside this project. Wraps data keys exactly as the key manager
/// does (KeyWrap, AES-256-GCM, same canonical context) under an in-memory key-encryption key, but
/// writes no audit record and touches no key store: the baseline against which the audited
/// KmsDataKeyService is measured.
/// </summary>
public sealed class UnauditedDataKeysForBenchmark : IDataKeyService
{
    private readonly byte[] _kek = RandomNumberGenerator.GetBytes(32);
    private readonly string _keyId = Guid.NewGuid().ToString("D");

    public DataKeyGrant GenerateDataKey(string keyRef, IReadOnlyDictionary<string, string> context, string principal, IReadOnlyDictionary<string, string>? recorded = null)
    {
        var dek = RandomNumberGenerator.GetBytes(KeyWrap.KeySize);
        return new DataKeyGrant(dek, new WrappedKeyRef(_keyId, 1, KeyWrap.Wrap(_kek, dek, _keyId, 1, EncryptionContext.Canonical(context))));
    }

    public Task<byte[]> UnwrapDataKeyAsync(WrappedKeyRef wrapped, IReadOnlyDictionary<string, string> context, string principal) =>
        Task.FromResult(Unwrap(wrapped, context));

    private byte[] Unwrap(WrappedKeyRef wrapped, IReadOnlyDictionary<string, string> context)
    {
        var dek = new byte[KeyWrap.KeySize];
        KeyWrap.Unwrap(_kek, wrapped.Wrapped, wrapped.KeyId, wrapped.KeyVersion, EncryptionContext.Canonical(context), dek);
        return dek;
    }

    public WrappedKeyRef RewrapDataKey(WrappedKeyRef wrapped, IReadOnlyDictionary<string, string> context, string principal)
    {
        var dek = Unwrap(wrapped, context);
        try
        {
            return new WrappedKeyRef(_keyId, 1, KeyWrap.Wrap(_kek, dek, _keyId, 1, EncryptionContext.Canonical(context)));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dek);
        }
    }

    public string ResolveKeyId(string keyRef) => _keyId;

    public int PrimaryVersion(string keyRef) => 1;

    public bool IsEnabled(string keyRef) => true;
}
