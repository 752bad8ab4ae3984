namespace Coffre.Crypto.Tests;

public class KeyWrapTests
{
    private static readonly byte[] Kek = TestData.Derive("kek", 32);
    private static readonly byte[] Context = "bucket\0object"u8.ToArray();

    private static byte[] Unwrap(byte[] wrapped, string keyId = "key-1", int version = 3, byte[]? context = null, byte[]? kek = null)
    {
        var dek = new byte[32];
        KeyWrap.Unwrap(kek ?? Kek, wrapped, keyId, version, context ?? Context, dek);
        return dek;
    }

    [Fact]
    public void RoundTrips()
    {
        var wrapped = KeyWrap.Wrap(Kek, TestData.Key, "key-1", 3, Context);
        Assert.Equal(KeyWrap.WrappedSize, wrapped.Length);
        Assert.Equal(61, wrapped.Length);
        Assert.Equal(1, wrapped[0]);
        Assert.Equal(TestData.Key, Unwrap(wrapped));
        Assert.NotEqual(wrapped, KeyWrap.Wrap(Kek, TestData.Key, "key-1", 3, Context)); // random nonce
    }

    [Fact]
    public void WrongBindingOrKekFails()
    {
        var wrapped = KeyWrap.Wrap(Kek, TestData.Key, "key-1", 3, Context);
        Assert.Equal(CiphertextPart.WrappedKey, Assert.Throws<AuthenticationFailedException>(() => Unwrap(wrapped, keyId: "key-2")).Part);
        Assert.Throws<AuthenticationFailedException>(() => Unwrap(wrapped, version: 4));
        Assert.Throws<AuthenticationFailedException>(() => Unwrap(wrapped, context: "bucket\0other"u8.ToArray()));
        Assert.Throws<AuthenticationFailedException>(() => Unwrap(wrapped, context: []));
        Assert.Throws<AuthenticationFailedException>(() => Unwrap(wrapped, kek: TestData.OtherKey));
    }

    [Fact]
    public void FlippingAnyByteOrTruncatingFails()
    {
        var wrapped = KeyWrap.Wrap(Kek, TestData.Key, "key-1", 3, Context);
        for (int i = 0; i < wrapped.Length; i++)
        {
            var w = (byte[])wrapped.Clone();
            w[i] ^= 0x20;
            Assert.Equal(CiphertextPart.WrappedKey, Assert.Throws<AuthenticationFailedException>(() => Unwrap(w)).Part);
        }
        Assert.Throws<AuthenticationFailedException>(() => Unwrap(wrapped[..60]));
        Assert.Throws<AuthenticationFailedException>(() => Unwrap([.. wrapped, 0]));
    }

    [Fact]
    public void LengthPrefixesKeepFieldsApart()
    {
        // "ab" + context "c" must not equal "a" + context "bc" etc.
        Assert.NotEqual(KeyWrap.Aad("ab", 1, "c"u8), KeyWrap.Aad("a", 1, "bc"u8));
    }
}
