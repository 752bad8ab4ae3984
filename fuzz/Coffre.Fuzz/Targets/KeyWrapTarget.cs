using Coffre.Crypto;
using Coffre.Kms;
using Coffre.Kms.Root;

namespace Coffre.Fuzz.Targets;

/// <summary>
/// The two key-wrap parsers: a data key wrapped by a key version (<see cref="KeyWrap.Unwrap"/>, read from object
/// metadata at a backend) and key material wrapped by the root key (<see cref="SealedFileRoot.Unwrap"/>, read from the
/// key store). Input: one byte L, L bytes of wrapped key, then the context / associated data. Every rejection is an
/// <see cref="AuthenticationFailedException"/> or a <see cref="KmsException"/> (InvalidCiphertext).
/// </summary>
public sealed class KeyWrapTarget : FuzzTarget
{
    private const string KeyId = "fuzz-key";
    private const int KeyVersion = 3;
    private static readonly byte[] Kek = Enumerable.Range(100, KeyWrap.KeySize).Select(i => (byte)i).ToArray();
    private static readonly byte[] DataKey = Enumerable.Range(200, KeyWrap.KeySize).Select(i => (byte)i).ToArray();
    private readonly Lazy<SealedFileRoot> _root = new(NewRoot);

    public override string Name => "key-wrap";

    public override void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty) return;
        var length = Math.Min(input[0], input.Length - 1);
        var wrapped = input.Slice(1, length);
        var context = input[(1 + length)..];
        Span<byte> unwrapped = stackalloc byte[KeyWrap.KeySize];
        try
        {
            KeyWrap.Unwrap(Kek, wrapped, KeyId, KeyVersion, context, unwrapped);
            Check(unwrapped.SequenceEqual(DataKey), "only the wrapped data key unwraps");
        }
        catch (AuthenticationFailedException)
        {
        }
        try
        {
            _root.Value.Unwrap(wrapped, context, unwrapped);
        }
        catch (KmsException e) when (e.Error == KmsError.InvalidCiphertext)
        {
        }
    }

    public override IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        byte[] Seed(byte[] wrapped, ReadOnlySpan<byte> context) => [(byte)wrapped.Length, .. wrapped, .. context];
        var nonce = new byte[KeyWrap.NonceSize];
        yield return ("data-key", Seed(KeyWrap.Wrap(Kek, DataKey, KeyId, KeyVersion, "bucket/object"u8, nonce), "bucket/object"u8));
        yield return ("data-key-no-context", Seed(KeyWrap.Wrap(Kek, DataKey, KeyId, KeyVersion, [], nonce), []));
        yield return ("root-wrapped", Seed(_root.Value.Wrap(DataKey, "key/finance/1"u8), "key/finance/1"u8));
    }

    /// <summary>A root key of this process (its seal file is removed at once: only the unsealed key is used).</summary>
    private static SealedFileRoot NewRoot()
    {
        var path = Path.Combine(Path.GetTempPath(), $"coffre-fuzz-{Environment.ProcessId}-{Guid.NewGuid():N}.seal");
        var root = SealedFileRoot.Initialize(path, "fuzz", SealOptions.InsecureForTests);
        File.Delete(path);
        return root;
    }
}
