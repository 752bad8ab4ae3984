using System.Text;
using Coffre.Objects.Integrity;

namespace Coffre.Objects.Tests;

/// <summary>
/// ObjectStore's write path: a blob becomes visible only through the catalog commit; anything written and
/// not committed, or replaced, is garbage, collected once older than the grace period (on the store's clock).
/// </summary>
public sealed class ObjectStoreCrashSafetyTests : IDisposable
{
    private readonly TestStore _t = new();
    public void Dispose() => _t.Dispose();

    private async Task<Coffre.Objects.Catalog.ObjectRecord> PutAsync(string name, string text, Func<PlaintextDigests, ObjectStoreException?>? verify = null)
    {
        var body = Encoding.UTF8.GetBytes(text);
        return await _t.Store.PutObjectAsync(new PutObjectCommand("bucket", name, new MemoryStream(body), body.Length, new ObjectMetadata(), "tester", Verify: verify));
    }

    private async Task<string> ReadAsync(string name)
    {
        using var reader = await _t.Store.OpenAsync(await _t.Store.GetRecordAsync("bucket", name), "tester");
        using var ms = new MemoryStream();
        await reader.Body.CopyToAsync(ms);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private async Task<bool> BlobExists(string blob) => await _t.Blobs.HeadAsync(blob) is not null;

    [Fact]
    public async Task A_blob_written_but_never_committed_is_invisible_garbage()
    {
        // A crash between writing the blob and committing its record: the pending-blob row and the blob remain.
        await _t.Store.CreateBucketAsync("bucket", "tester");
        const string blob = "objects/crashed-before-commit";
        await _t.Catalog.RecordPendingBlobAsync(blob);
        await _t.Blobs.PutAsync(blob, new MemoryStream(new byte[1000]), 1000, new Dictionary<string, string>());

        // Not visible: no record, not listed.
        Assert.Empty((await _t.Store.ListAsync("bucket", "", null, null, 100)).Entries);
        Assert.Equal([blob], await _t.Catalog.GarbageOlderThanAsync(DateTimeOffset.MaxValue));

        // Kept while a slow write could still be in flight (it is dated a day ahead)...
        _t.Time.Advance(_t.Options.GarbageGracePeriod + TimeSpan.FromMinutes(1));
        Assert.Equal(0, await _t.Store.CollectGarbageAsync());
        Assert.True(await BlobExists(blob));

        // ...and collected once that cannot be the case any more.
        _t.Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(1, await _t.Store.CollectGarbageAsync());
        Assert.False(await BlobExists(blob));
        Assert.Empty(await _t.Catalog.GarbageOlderThanAsync(DateTimeOffset.MaxValue));
    }

    [Fact]
    public async Task A_refused_write_is_invisible_and_its_blob_collected_after_the_grace_period()
    {
        await _t.Store.CreateBucketAsync("bucket", "tester");
        var failure = await Assert.ThrowsAsync<ObjectStoreException>(() =>
            PutAsync("never", "written, then refused", _ => new ObjectStoreException(ObjectError.BadDigest, "refused")));
        Assert.Equal(ObjectError.BadDigest, failure.Error);
        Assert.Equal(ObjectError.NoSuchKey, (await Assert.ThrowsAsync<ObjectStoreException>(() => _t.Store.GetRecordAsync("bucket", "never"))).Error);
        Assert.Empty((await _t.Store.ListAsync("bucket", "", null, null, 100)).Entries);

        var blob = Assert.Single(await _t.Catalog.GarbageOlderThanAsync(DateTimeOffset.MaxValue));
        Assert.True(await BlobExists(blob));
        _t.Time.Advance(_t.Options.GarbageGracePeriod - TimeSpan.FromSeconds(1));
        Assert.Equal(0, await _t.Store.CollectGarbageAsync());
        _t.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, await _t.Store.CollectGarbageAsync());
        Assert.False(await BlobExists(blob));
    }

    [Fact]
    public async Task A_write_refused_by_its_precondition_at_commit_keeps_the_winner()
    {
        await _t.Store.CreateBucketAsync("bucket", "tester");
        var body = "loser"u8.ToArray();
        // The object appears between the early check and the commit: the late check refuses.
        var gate = new GateStream(body);
        var loser = _t.Store.PutObjectAsync(new PutObjectCommand("bucket", "race", gate, body.Length, new ObjectMetadata(), "tester",
            Condition: new WriteCondition(null, IfNoneMatch: true)));
        await gate.Started.Task;
        await PutAsync("race", "winner");
        gate.Release.SetResult();
        Assert.Equal(ObjectError.PreconditionFailed, (await Assert.ThrowsAsync<ObjectStoreException>(() => loser)).Error);
        Assert.Equal("winner", await ReadAsync("race"));
        _t.Time.Advance(_t.Options.GarbageGracePeriod + TimeSpan.FromSeconds(1));
        Assert.Equal(1, await _t.Store.CollectGarbageAsync()); // the loser's blob
        Assert.Equal("winner", await ReadAsync("race"));
    }

    /// <summary>A body that blocks on its first read until released.</summary>
    private sealed class GateStream(byte[] data) : Stream
    {
        private int _position;
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Started.TrySetResult();
            await Release.Task;
            var n = Math.Min(buffer.Length, data.Length - _position);
            data.AsMemory(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public async Task A_refused_overwrite_keeps_the_old_version()
    {
        await _t.Store.CreateBucketAsync("bucket", "tester");
        await PutAsync("doc", "version one");
        await Assert.ThrowsAsync<ObjectStoreException>(() => PutAsync("doc", "version two", _ => new ObjectStoreException(ObjectError.BadDigest, "refused")));
        Assert.Equal("version one", await ReadAsync("doc"));
        _t.Time.Advance(_t.Options.GarbageGracePeriod + TimeSpan.FromSeconds(1));
        Assert.Equal(1, await _t.Store.CollectGarbageAsync()); // the refused blob only
        Assert.Equal("version one", await ReadAsync("doc"));
    }

    [Fact]
    public async Task Overwrite_leaves_the_old_blob_as_garbage_until_the_grace_period_ends()
    {
        await _t.Store.CreateBucketAsync("bucket", "tester");
        var v1 = await PutAsync("doc", "version one");
        var v2 = await PutAsync("doc", "version two");
        var oldBlob = v1.Parts[0].Blob;
        var newBlob = v2.Parts[0].Blob;
        Assert.NotEqual(oldBlob, newBlob);
        Assert.Equal("version two", await ReadAsync("doc"));
        // The old version's sidecar too, whether or not a rewrap wrote one (deleting a missing blob is a no-op).
        Assert.Equal(new[] { oldBlob, BlobMetadata.SidecarKey(oldBlob), Manifests.ObjectManifest.KeyOf(oldBlob) }.Order(), (await _t.Catalog.GarbageOlderThanAsync(DateTimeOffset.MaxValue)).Order());

        // A reader of v1 that opened before the overwrite can still finish during the grace period.
        Assert.Equal(0, await _t.Store.CollectGarbageAsync());
        _t.Time.Advance(_t.Options.GarbageGracePeriod - TimeSpan.FromSeconds(1));
        Assert.Equal(0, await _t.Store.CollectGarbageAsync());
        Assert.True(await BlobExists(oldBlob));

        _t.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(3, await _t.Store.CollectGarbageAsync());
        Assert.False(await BlobExists(oldBlob));
        Assert.True(await BlobExists(newBlob));
        Assert.Equal("version two", await ReadAsync("doc"));
    }

    [Fact]
    public async Task Delete_and_abort_make_garbage_too()
    {
        await _t.Store.CreateBucketAsync("bucket", "tester");
        var record = await PutAsync("gone", "bye");
        await _t.Store.DeleteObjectAsync("bucket", "gone");
        var upload = await _t.Store.CreateUploadAsync("bucket", "mp", new ObjectMetadata(), "tester");
        var part = await _t.Store.UploadPartAsync(new UploadPartCommand("bucket", "mp", upload.UploadId, 1, new MemoryStream([1, 2, 3]), 3, "tester"));
        await _t.Store.AbortUploadAsync("bucket", "mp", upload.UploadId);
        // An upload's parts have no sidecar; a committed object's sidecar key is garbage with its blobs.
        Assert.Equal(new[] { record.Parts[0].Blob, BlobMetadata.SidecarKey(record.Parts[0].Blob), Manifests.ObjectManifest.KeyOf(record.Parts[0].Blob), part.Blob }.Order(),
            (await _t.Catalog.GarbageOlderThanAsync(DateTimeOffset.MaxValue)).Order());
        _t.Time.Advance(_t.Options.GarbageGracePeriod + TimeSpan.FromSeconds(1));
        Assert.Equal(4, await _t.Store.CollectGarbageAsync());
        Assert.False(await BlobExists(part.Blob));
    }

    [Fact]
    public async Task Parts_left_out_of_a_completed_upload_and_replaced_parts_are_garbage()
    {
        await _t.Store.CreateBucketAsync("bucket", "tester");
        _t.Options.MinimumPartSize = 1;
        var upload = await _t.Store.CreateUploadAsync("bucket", "mp", new ObjectMetadata(), "tester");
        var first = await _t.Store.UploadPartAsync(new UploadPartCommand("bucket", "mp", upload.UploadId, 1, new MemoryStream([1]), 1, "tester"));
        var again = await _t.Store.UploadPartAsync(new UploadPartCommand("bucket", "mp", upload.UploadId, 1, new MemoryStream([2]), 1, "tester"));
        var unused = await _t.Store.UploadPartAsync(new UploadPartCommand("bucket", "mp", upload.UploadId, 2, new MemoryStream([3]), 1, "tester"));
        await _t.Store.CompleteUploadAsync("bucket", "mp", upload.UploadId, [(1, again.Md5Hex)], "tester");
        Assert.Equal(new[] { first.Blob, unused.Blob }.Order(), (await _t.Catalog.GarbageOlderThanAsync(DateTimeOffset.MaxValue)).Order());
        Assert.Equal("\u0002", await ReadAsync("mp"));
    }
}
