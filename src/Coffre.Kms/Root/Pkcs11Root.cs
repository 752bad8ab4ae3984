using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;

namespace Coffre.Kms.Root;

/// <summary>
/// Root of trust inside a PKCS#11 HSM (docs/format.md §6.6): a non-extractable, sensitive AES-256 key found by token
/// label and key label (never by slot: SoftHSM and others renumber slots), with which the HSM wraps and unwraps key
/// versions by CKM_AES_GCM. The root key never leaves the HSM; what this process caches is the key versions the key
/// manager unwrapped (zeroed on seal). One logged-in session, used under the key manager's root lock.
/// </summary>
public sealed class Pkcs11Root : IRootOfTrust
{
    private const byte WrapFormat = 2;
    public const int WrappedSize = 1 + 12 + 32 + 16;

    private static readonly Pkcs11InteropFactories Factories = new();
    private readonly IPkcs11Library _library;
    private readonly ISession _session;
    private readonly IObjectHandle _key;
    private readonly Lock _lock = new();
    private bool _disposed;

    public string DeploymentId { get; }

    static Pkcs11Root()
    {
        // Pkcs11Interop 5.3 imports dlopen from "libdl"; Debian 12 ships only libdl.so.2 (glibc ≥ 2.34 has it in libc).
        NativeLibrary.SetDllImportResolver(typeof(Pkcs11InteropFactories).Assembly, (name, assembly, path) =>
            name == "libdl" && NativeLibrary.TryLoad("libdl.so.2", assembly, path, out var handle) ? handle : IntPtr.Zero);
    }

    private Pkcs11Root(string deploymentId, IPkcs11Library library, ISession session, IObjectHandle key)
    {
        DeploymentId = deploymentId;
        _library = library;
        _session = session;
        _key = key;
    }

    /// <summary>Logs in to the token and finds the key (or, with <paramref name="create"/>, generates it: AES-256,
    /// token object, private, sensitive, never extractable, for encrypt/decrypt only).</summary>
    /// <exception cref="KmsException"><see cref="KmsError.WrongPassphrase"/> for a wrong PIN; <see cref="KmsError.NotFound"/>
    /// for no such token or key; <see cref="KmsError.AlreadyExists"/> when creating a key whose label is taken.</exception>
    /// <summary>Generates a new root key on the token and writes <paramref name="sealPath"/> (root.seal), which only says where
    /// the key is (docs/format.md §6.6). The key label must not exist on the token yet.</summary>
    public static Pkcs11Root Initialize(string sealPath, string module, string tokenLabel, string keyLabel, string pin, TimeProvider time,
        string? deploymentId = null)
    {
        var seal = new RootSealFile
        {
            Version = 2, DeploymentId = deploymentId ?? Guid.NewGuid().ToString("D"), Kind = RootKind.Pkcs11, Module = module, TokenLabel = tokenLabel,
            KeyLabel = keyLabel, Nonce = [], Ciphertext = [], Tag = [], Created = RootSealFile.Now(time),
        };
        var root = Open(seal.DeploymentId, module, tokenLabel, keyLabel, pin, create: true);
        try
        {
            AtomicFile.WriteNew(sealPath, seal.ToJson());
        }
        catch
        {
            root.Dispose();
            throw;
        }
        return root;
    }

    public static Pkcs11Root Open(string deploymentId, string module, string tokenLabel, string keyLabel, string pin, bool create = false)
    {
        IPkcs11Library library;
        try
        {
            library = Factories.Pkcs11LibraryFactory.LoadPkcs11Library(Factories, module, AppType.MultiThreaded);
        }
        catch (Exception e) when (e is Pkcs11Exception or DllNotFoundException or UnmanagedException or EntryPointNotFoundException)
        {
            throw new KmsException(KmsError.InvalidArgument, $"The PKCS#11 module {module} cannot be loaded: {e.Message}", e);
        }
        ISession? session = null;
        try
        {
            var slot = library.GetSlotList(SlotsType.WithTokenPresent).FirstOrDefault(s => s.GetTokenInfo().Label.Trim() == tokenLabel)
                ?? throw new KmsException(KmsError.NotFound, $"No token labelled '{tokenLabel}' in the PKCS#11 module {module}; check the label (slots are not used).");
            session = slot.OpenSession(SessionType.ReadWrite);
            try
            {
                session.Login(CKU.CKU_USER, pin);
            }
            catch (Pkcs11Exception e) when (e.RV is CKR.CKR_PIN_INCORRECT or CKR.CKR_PIN_LEN_RANGE or CKR.CKR_PIN_INVALID)
            {
                throw new KmsException(KmsError.WrongPassphrase, $"The PIN of the token '{tokenLabel}' is wrong ({e.RV}); check it (tokens lock after a few failures).");
            }
            var found = session.FindAllObjects([
                Factories.ObjectAttributeFactory.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY),
                Factories.ObjectAttributeFactory.Create(CKA.CKA_LABEL, keyLabel)]);
            IObjectHandle key;
            if (create)
            {
                if (found.Count > 0)
                    throw new KmsException(KmsError.AlreadyExists, $"The token '{tokenLabel}' already holds a key labelled '{keyLabel}'; choose another label.");
                key = session.GenerateKey(Factories.MechanismFactory.Create(CKM.CKM_AES_KEY_GEN), [
                    Factories.ObjectAttributeFactory.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY),
                    Factories.ObjectAttributeFactory.Create(CKA.CKA_KEY_TYPE, CKK.CKK_AES),
                    Factories.ObjectAttributeFactory.Create(CKA.CKA_VALUE_LEN, 32UL),
                    Factories.ObjectAttributeFactory.Create(CKA.CKA_LABEL, keyLabel),
                    Factories.ObjectAttributeFactory.Create(CKA.CKA_TOKEN, true),
                    Factories.ObjectAttributeFactory.Create(CKA.CKA_PRIVATE, true),
                    Factories.ObjectAttributeFactory.Create(CKA.CKA_SENSITIVE, true),
                    Factories.ObjectAttributeFactory.Create(CKA.CKA_EXTRACTABLE, false),
                    Factories.ObjectAttributeFactory.Create(CKA.CKA_ENCRYPT, true),
                    Factories.ObjectAttributeFactory.Create(CKA.CKA_DECRYPT, true),
                    Factories.ObjectAttributeFactory.Create(CKA.CKA_WRAP, false),
                    Factories.ObjectAttributeFactory.Create(CKA.CKA_UNWRAP, false)]);
            }
            else
            {
                key = found.Count == 1 ? found[0] : throw new KmsException(KmsError.NotFound,
                    $"The token '{tokenLabel}' holds {found.Count} keys labelled '{keyLabel}', not one; the root key is missing or ambiguous.");
            }
            return new Pkcs11Root(deploymentId, library, session, key);
        }
        catch (Exception e)
        {
            session?.Dispose();
            library.Dispose();
            if (e is Pkcs11Exception p) throw new KmsException(KmsError.StoreUnavailable, $"The PKCS#11 token '{tokenLabel}' failed: {p.RV}", p);
            throw;
        }
    }

    /// <summary>Asks the HSM for the key's value, as an attacker with the PIN would; true when it refuses (what a test asserts).</summary>
    public bool RefusesToExport()
    {
        lock (_lock)
        {
            var value = _session.GetAttributeValue(_key, [CKA.CKA_VALUE])[0];
            var attributes = _session.GetAttributeValue(_key, [CKA.CKA_EXTRACTABLE, CKA.CKA_SENSITIVE]);
            return value.CannotBeRead && !attributes[0].GetValueAsBool() && attributes[1].GetValueAsBool();
        }
    }

    public byte[] Wrap(ReadOnlySpan<byte> keyMaterial, ReadOnlySpan<byte> associatedData)
    {
        if (keyMaterial.Length != 32) throw new KmsException(KmsError.InvalidArgument, "The root key wraps 32-byte key material only.");
        var nonce = RandomNumberGenerator.GetBytes(12);
        var material = keyMaterial.ToArray();
        try
        {
            byte[] sealedBytes;
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                sealedBytes = _session.Encrypt(Gcm(nonce, associatedData), _key, material);
            }
            return [WrapFormat, .. nonce, .. sealedBytes];
        }
        catch (Pkcs11Exception e)
        {
            throw new KmsException(KmsError.StoreUnavailable, $"The HSM refused to wrap key material ({e.RV}).", e);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
    }

    public void Unwrap(ReadOnlySpan<byte> wrapped, ReadOnlySpan<byte> associatedData, Span<byte> keyMaterial)
    {
        if (keyMaterial.Length != 32) throw new KmsException(KmsError.InvalidArgument, "Key material is 32 bytes.");
        if (wrapped.Length != WrappedSize || wrapped[0] != WrapFormat)
            throw new KmsException(KmsError.InvalidCiphertext, "Key material wrapped by the HSM root key is malformed; the key store was modified or belongs to another root.");
        byte[] plain;
        try
        {
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                plain = _session.Decrypt(Gcm(wrapped.Slice(1, 12).ToArray(), associatedData), _key, wrapped[13..].ToArray());
            }
        }
        catch (Pkcs11Exception e) when (e.RV is CKR.CKR_ENCRYPTED_DATA_INVALID or CKR.CKR_ENCRYPTED_DATA_LEN_RANGE or CKR.CKR_GENERAL_ERROR or CKR.CKR_FUNCTION_FAILED)
        {
            throw new KmsException(KmsError.InvalidCiphertext, "Key material wrapped by the HSM root key does not verify; the key store was modified or belongs to another root.");
        }
        try
        {
            plain.CopyTo(keyMaterial);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    private static IMechanism Gcm(byte[] nonce, ReadOnlySpan<byte> associatedData) =>
        Factories.MechanismFactory.Create(CKM.CKM_AES_GCM, Factories.MechanismParamsFactory.CreateCkGcmParams(nonce, 96, associatedData.ToArray(), 128));

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            try { _session.Logout(); } catch (Pkcs11Exception) { }
            _session.Dispose();
            _library.Dispose();
        }
    }

    public override string ToString() => $"Pkcs11Root(deployment {DeploymentId})";
}
