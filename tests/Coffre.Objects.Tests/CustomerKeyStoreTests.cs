using System.Security.Cryptography;
using Coffre.Crypto;
using Coffre.Objects.Encryption;

namespace Coffre.Objects.Tests;

/// <summary>
/// SSE-C in the object store: the customer key is a second key, checked against the object's salted HMAC before
/// anything is decrypted, and the stored ciphertext does not open with Coffre's data key alone.
/// </summary>
public sealed class CustomerKeyStoreTests : IAsyncLifetime, IDisposable
{
    private readonly TestStore _t = new();
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    public Task InitializeAsync() => _t.Store.CreateBucketAsync("bkt", "tester");

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _t.Dispose();

    private CustomerKey Key(byte[]? bytes = null) => new((byte[])(bytes ?? _key).Clone());

    private async Task<byte[]> PutAsync(string name, int size)
    {
        var body = RandomNumberGenerator.GetBytes(size);
        using var key = Key();
        await _t.Store.PutObjectAsync(new PutObjectCommand("bkt", name, new MemoryStream(body), body.Length, new ObjectMetadata(), "tester",
            Encryption: new EncryptionRequest { CustomerKey = key }));
        return body;
    }

    private static async Task<byte[]> ReadAllAsync(ObjectReader reader)
    {
        using var output = new MemoryStream();
        await reader.Body.CopyToAsync(output);
        return output.ToArray();
    }

    [Fact]
    public async Task The_object_opens_with_its_key_ranges_included_and_never_without_it()
    {
        var body = await PutAsync("o", 200_000);
        var record = await _t.Store.GetRecordAsync("bkt", "o");
        using (var key = Key())
        using (var reader = await _t.Store.OpenAsync(record, "tester", customerKey: key))
            Assert.Equal(body, await ReadAllAsync(reader));
        using (var key = Key())
        using (var reader = await _t.Store.OpenAsync(record, "tester", 70_000, 140_001, key))
            Assert.Equal(body[70_000..140_001], await ReadAllAsync(reader));

        var missing = await Assert.ThrowsAsync<ObjectStoreException>(() => _t.Store.OpenAsync(record, "tester"));
        Assert.Equal(ObjectError.CustomerKeyMissing, missing.Error);
        using var wrong = Key(RandomNumberGenerator.GetBytes(32));
        var mismatch = await Assert.ThrowsAsync<ObjectStoreException>(() => _t.Store.OpenAsync(record, "tester", customerKey: wrong));
        Assert.Equal(ObjectError.CustomerKeyMismatch, mismatch.Error);
    }

    [Fact]
    public async Task A_customer_key_for_an_object_written_without_one_is_refused()
    {
        await _t.Store.PutObjectAsync(new PutObjectCommand("bkt", "plain", new MemoryStream([1, 2, 3]), 3, new ObjectMetadata(), "tester"));
        using var key = Key();
        var e = await Assert.ThrowsAsync<ObjectStoreException>(async () =>
            await _t.Store.OpenAsync(await _t.Store.GetRecordAsync("bkt", "plain"), "tester", customerKey: key));
        Assert.Equal(ObjectError.CustomerKeyNotApplicable, e.Error);
    }

    [Fact]
    public async Task The_stored_ciphertext_does_not_decrypt_with_the_data_key_alone()
    {
        var body = await PutAsync("o", 5_000);
        var record = await _t.Store.GetRecordAsync("bkt", "o");
        // Coffre alone: the data key as the key service gives it to the store.
        var dataKey = await _t.Keys.UnwrapDataKeyAsync(record.Key, ObjectBinding.WrapContext("bkt", "o"), "tester");
        await using var blob = await _t.Blobs.GetAsync(record.Parts[0].Blob);
        using var ciphertext = new MemoryStream();
        await blob.Content.CopyToAsync(ciphertext);
        var ad = ObjectBinding.StreamAssociatedData("bkt", "o", record.Key.KeyId, 0);

        Assert.Throws<AuthenticationFailedException>(() => SseVectorTests.Decrypt(ciphertext.ToArray(), dataKey, ad));
        using var key = Key();
        Assert.Equal(body, SseVectorTests.Decrypt(ciphertext.ToArray(), ContentKey.Derive(dataKey, key, null), ad));
        // Nothing of the customer key is kept but its salted HMAC: the key's bytes appear nowhere in the catalog.
        var catalogBytes = await File.ReadAllBytesAsync(Path.Combine(_t.Directory, "catalog.db"));
        Assert.Equal(-1, catalogBytes.AsSpan().IndexOf(_key));
    }

    [Fact]
    public async Task Every_part_of_a_multipart_upload_must_carry_the_upload_key()
    {
        _t.Options.MinimumPartSize = 1;
        using var key = Key();
        var upload = await _t.Store.CreateUploadAsync("bkt", "mp", new ObjectMetadata(), "tester", encryption: new EncryptionRequest { CustomerKey = key });
        var one = RandomNumberGenerator.GetBytes(70_000);
        var two = RandomNumberGenerator.GetBytes(1_000);
        var p1 = await _t.Store.UploadPartAsync(new UploadPartCommand("bkt", "mp", upload.UploadId, 1, new MemoryStream(one), one.Length, "tester", CustomerKey: key));
        var none = await Assert.ThrowsAsync<ObjectStoreException>(() =>
            _t.Store.UploadPartAsync(new UploadPartCommand("bkt", "mp", upload.UploadId, 2, new MemoryStream(two), two.Length, "tester")));
        Assert.Equal(ObjectError.CustomerKeyMissing, none.Error);
        using var wrong = Key(RandomNumberGenerator.GetBytes(32));
        var mismatch = await Assert.ThrowsAsync<ObjectStoreException>(() =>
            _t.Store.UploadPartAsync(new UploadPartCommand("bkt", "mp", upload.UploadId, 2, new MemoryStream(two), two.Length, "tester", CustomerKey: wrong)));
        Assert.Equal(ObjectError.CustomerKeyMismatch, mismatch.Error);
        var p2 = await _t.Store.UploadPartAsync(new UploadPartCommand("bkt", "mp", upload.UploadId, 2, new MemoryStream(two), two.Length, "tester", CustomerKey: key));
        var record = await _t.Store.CompleteUploadAsync("bkt", "mp", upload.UploadId, [(1, p1.Md5Hex), (2, p2.Md5Hex)], "tester");

        byte[] expected = [.. one[69_990..], .. two[..10]];
        using var reader = await _t.Store.OpenAsync(record, "tester", 69_990, 70_010, key);
        Assert.Equal(expected, await ReadAllAsync(reader));
        Assert.Equal(ObjectError.CustomerKeyMissing, (await Assert.ThrowsAsync<ObjectStoreException>(() => _t.Store.OpenAsync(record, "tester"))).Error);
    }
}
