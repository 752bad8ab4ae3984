using Coffre.Objects.Catalog;

namespace Coffre.Objects.Tests;

/// <summary>
/// S3's size limits in the object store, lowered so that a test can pass them: one PUT or part (5 GiB) counted on the
/// plaintext read even when no length is announced, and a whole object (5 TiB) when a multipart upload is completed.
/// </summary>
public sealed class ObjectSizeLimitTests : IAsyncLifetime
{
    private readonly TestStore _t = new();

    public ObjectSizeLimitTests()
    {
        _t.Options.MaxStreamSize = 1000;
        _t.Options.MaxObjectSize = 1500;
        _t.Options.MinimumPartSize = 1;
    }

    public Task InitializeAsync() => _t.Store.CreateBucketAsync("bucket", "tester");

    public Task DisposeAsync()
    {
        _t.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_body_without_a_length_is_cut_off_past_the_limit_and_nothing_is_stored()
    {
        var e = await Assert.ThrowsAsync<ObjectStoreException>(() => _t.Store.PutObjectAsync(
            new PutObjectCommand("bucket", "big", new MemoryStream(new byte[1001]), null, new ObjectMetadata(), "tester")));
        Assert.Equal(ObjectError.EntityTooLarge, e.Error);
        Assert.Null(await _t.Catalog.GetObjectAsync("bucket", "big"));
        // What reached the backend is garbage: collected once past the grace period.
        _t.Time.Advance(_t.Options.GarbageGracePeriod + TimeSpan.FromSeconds(1));
        await _t.Store.CollectGarbageAsync();
        Assert.Empty(await _t.Blobs.ListAsync().ToListAsync());

        var exact = await _t.Store.PutObjectAsync(new PutObjectCommand("bucket", "exact", new MemoryStream(new byte[1000]), null, new ObjectMetadata(), "tester"));
        Assert.Equal(1000, exact.Size);
    }

    [Fact]
    public async Task A_completed_upload_larger_than_the_object_limit_is_refused()
    {
        var upload = await _t.Store.CreateUploadAsync("bucket", "mp", new ObjectMetadata(), "tester");
        var p1 = await _t.Store.UploadPartAsync(new UploadPartCommand("bucket", "mp", upload.UploadId, 1, new MemoryStream(new byte[1000]), null, "tester"));
        var p2 = await _t.Store.UploadPartAsync(new UploadPartCommand("bucket", "mp", upload.UploadId, 2, new MemoryStream(new byte[501]), 501, "tester"));
        var e = await Assert.ThrowsAsync<ObjectStoreException>(() => _t.Store.CompleteUploadAsync("bucket", "mp", upload.UploadId,
            [(1, p1.Md5Hex), (2, p2.Md5Hex)], "tester"));
        Assert.Equal(ObjectError.EntityTooLarge, e.Error);
        Assert.Null(await _t.Catalog.GetObjectAsync("bucket", "mp"));
        // The upload is still there: a smaller part list completes it.
        var record = await _t.Store.CompleteUploadAsync("bucket", "mp", upload.UploadId, [(1, p1.Md5Hex)], "tester");
        Assert.Equal(1000, record.Size);
    }
}
